/**
 * A STAND-IN for the CoCo guest's KBS client, for tests: the requests the
 * attestation agent (AA) and the confidential data hub (CDH) send, written
 * from confidential-containers/guest-components (snapshot 8246e5e, 2026-08-20)
 * and the kbs-types crate it uses (0.18), not from Cloak's server. It shares
 * no code with the broker. Sources, under attestation-agent/kbs_protocol/src/:
 *
 * - client/rcar_client.rs: `build_request` (Request {version "0.4.0", tee,
 *   extra-params {supported-hash-algorithms}}), `get_hash_algorithm` (the
 *   Challenge's extra-params["selected-hash-algorithm"], else sha384),
 *   `get_composite_evidence` (the primary attester's report data is the hash
 *   of the JCS-canonical {"tee-pubkey", "nonce", "additional-evidence"};
 *   additional evidence is "" without devices), `rcar_handshake` (Attestation
 *   {init-data: {format "toml", body} | null, runtime-data {nonce, tee-pubkey},
 *   tee-evidence {primary_evidence, additional_evidence}}; the token from
 *   {"token"}); `get_resource` with the session cookie.
 * - client/token_client.rs: the CDH's `get_resource` with `bearer_auth(token)`
 *   (a token it got from the AA's GetToken("kbs")); 401 means "get a new token".
 * - token_provider/mod.rs: `Token::new` (a 3-part JWT whose payload parses as
 *   JWT claims; `exp`/`nbf` decide validity).
 * - keypair.rs: the TEE key (EC P-256, `alg` "ECDH-ES+A256KW", x/y base64url)
 *   and `decrypt_response`, whose AAD is kbs-types' `ProtectedHeader::
 *   generate_aad`: base64url of the parsed header serialised again (alg, enc,
 *   then the other members; serde_json's default map orders them by key).
 * - resource_uri: kbs:///<repo>/<type>/<tag> → /kbs/v0/resource/<repo>/<type>/<tag>.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import { flattenedDecrypt } from 'jose';

const PROTOCOL_VERSION = '0.4.0';
const SUPPORTED_HASH_ALGORITHMS = ['sha256', 'sha384', 'sha512', 'sm3'];
const jcs = canonicalize as unknown as (v: unknown) => string;

/** The TEE key pair, exported as guest-components' `TeePubKey::EC`. */
export interface CocoTeeKey {
  publicJwk: { kty: 'EC'; crv: string; alg: string; x: string; y: string };
  privateKey: KeyObject;
}

export function cocoTeeKey(): CocoTeeKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { crv, x, y } = publicKey.export({ format: 'jwk' });
  return { publicJwk: { kty: 'EC', crv: crv!, alg: 'ECDH-ES+A256KW', x: x!, y: y! }, privateKey };
}

/** What the primary attester is asked to put in its report data, and the challenge it answers. */
export interface EvidenceRequest {
  reportData: Buffer;
  nonce: string;
  teePubkey: CocoTeeKey['publicJwk'];
}

export class KbsError extends Error {
  constructor(
    readonly status: number,
    readonly body: { type?: string; detail?: string } | undefined,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body?.detail ?? ''}`);
  }
}

/** A token as `Token::new` reads it: refuses anything that is not a JWT with JSON claims. */
export function cocoToken(token: string): {
  content: string;
  exp?: number;
  nbf?: number;
  claims: Record<string, unknown>;
} {
  const part = token.split('.')[1];
  if (token.split('.').length !== 3 || !part) throw new Error('illegal token format');
  const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  for (const k of ['exp', 'nbf', 'iat'])
    if (claims[k] !== undefined && !Number.isInteger(claims[k])) throw new Error(`token claim ${k} is not a UNIX time`);
  return { content: token, exp: claims.exp as number | undefined, nbf: claims.nbf as number | undefined, claims };
}

const sortKeys = (v: unknown): unknown =>
  v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
      )
    : v;

/** `decrypt_response`: the AAD is the re-serialised header, not the bytes sent. */
export async function cocoDecrypt(jwe: Record<string, string>, key: CocoTeeKey): Promise<Buffer> {
  const { alg, enc, ...other } = JSON.parse(Buffer.from(jwe.protected!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
  const reserialised = Buffer.from(JSON.stringify({ alg, enc, ...(sortKeys(other) as object) })).toString('base64url');
  const { plaintext } = await flattenedDecrypt(
    { ...jwe, protected: reserialised } as Parameters<typeof flattenedDecrypt>[0],
    key.privateKey,
  );
  return Buffer.from(plaintext);
}

const resourceUrl = (kbs: string, uri: string): string => {
  const m = /^kbs:\/\/[^/]*\/([^/]+\/[^/]+\/[^/]+)$/.exec(uri);
  if (!m) throw new Error(`not a kbs:/// resource URI: ${uri}`);
  return `${kbs}/kbs/v0/resource/${m[1]}`;
};

async function json(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The AA side: the RCAR handshake (auth, attest) for one TEE, then resources with the session cookie. */
export class CocoAttestationAgent {
  readonly key = cocoTeeKey();
  token?: ReturnType<typeof cocoToken>;
  private cookie?: string;

  constructor(
    readonly kbs: string,
    readonly tee: string,
    /** The attester: primary evidence JSON for the report data (64 bytes at most; the attester pads it to its field). */
    readonly attester: (req: EvidenceRequest) => unknown | Promise<unknown>,
    /** The init-data TOML the agent was started with (`--initdata-toml`), sent as is. */
    readonly initData?: string,
  ) {}

  /** `rcar_handshake`; the token on success, a KbsError with the server's problem otherwise. */
  async attest(): Promise<string> {
    const auth = await fetch(`${this.kbs}/kbs/v0/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        version: PROTOCOL_VERSION,
        tee: this.tee,
        'extra-params': { 'supported-hash-algorithms': SUPPORTED_HASH_ALGORITHMS },
      }),
    });
    const challenge = await json(auth);
    if (auth.status !== 200) throw new KbsError(auth.status, challenge, 'KBS request');
    this.cookie = /(?:^|[;,]\s*)kbs-session-id=([^;]+)/.exec(auth.headers.get('set-cookie') ?? '')?.[1];
    const extra = challenge['extra-params'];
    const selected = extra && typeof extra === 'object' ? extra['selected-hash-algorithm'] : undefined;
    const algorithm = typeof selected === 'string' ? selected.toLowerCase() : 'sha384';
    const runtimeData = { nonce: challenge.nonce as string, 'tee-pubkey': this.key.publicJwk };
    const additional = '';
    const reportData = createHash(algorithm)
      .update(
        jcs({ 'tee-pubkey': runtimeData['tee-pubkey'], nonce: runtimeData.nonce, 'additional-evidence': additional }),
      )
      .digest();
    const primary = await this.attester({ reportData, nonce: runtimeData.nonce, teePubkey: this.key.publicJwk });
    const attestation = {
      'init-data': this.initData === undefined ? null : { format: 'toml', body: this.initData },
      'runtime-data': runtimeData,
      'tee-evidence': { primary_evidence: primary, additional_evidence: additional },
    };
    const res = await fetch(`${this.kbs}/kbs/v0/attest`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.cookie ? { cookie: `kbs-session-id=${this.cookie}` } : {}),
      },
      body: JSON.stringify(attestation),
    });
    const body = await json(res);
    if (res.status !== 200) throw new KbsError(res.status, body, 'KBS attest');
    this.token = cocoToken(body.token);
    return body.token;
  }

  /** The AA's `get_resource` (rcar client): the session cookie of the handshake. */
  async resource(uri: string): Promise<Buffer> {
    const res = await fetch(resourceUrl(this.kbs, uri), {
      headers: this.cookie ? { cookie: `kbs-session-id=${this.cookie}` } : {},
    });
    const body = await json(res);
    if (res.status !== 200) throw new KbsError(res.status, body, 'KBS resource');
    return cocoDecrypt(body, this.key);
  }
}

/** The CDH side (token client): a token and the TEE key from the AA's GetToken("kbs"), resources with the bearer form only. */
export async function cdhGetResource(kbs: string, uri: string, token: string, key: CocoTeeKey): Promise<Buffer> {
  const res = await fetch(resourceUrl(kbs, uri), { headers: { authorization: `Bearer ${token}` } });
  const body = await json(res);
  if (res.status !== 200) throw new KbsError(res.status, body, 'KBS resource');
  return cocoDecrypt(body, key);
}
