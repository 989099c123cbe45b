import type { KeyObject } from 'node:crypto';
import { decodeJwt } from 'jose';
import { CloakError, type ErrorCode } from '../lib/index.ts';
import { runtimeDataDigest } from '../attest/binding.ts';
import {
  KBS_PROTOCOL_VERSION,
  SESSION_COOKIE,
  teeKeyPair,
  decryptFromKbs,
  type AttestReply,
  type AttestRequest,
  type AuthReply,
  type AuthRequest,
  type FlattenedJwe,
  type TeePubkey,
} from '../kbs/guest.ts';

/** What the agent's evidence source produces for a binding digest. */
export interface Attester {
  tee: string;
  /** Evidence (CoCo primary_evidence JSON) holding `reportData` (48-byte SHA-384 digest) in its report-data field. */
  evidence(bindingDigest: Buffer): Promise<unknown>;
}

export interface KbsClientOptions {
  url: string;
  attester: Attester;
  initData?: string;
  retries?: number;
  fetch?: typeof fetch;
}

/**
 * The workload side of the KBS protocol 0.4.0: ephemeral P-256 key,
 * challenge binding, token reuse until it expires, JWE decryption, retries
 * with backoff on network errors, and the server's reason on refusal.
 */
export class AgentKbsClient {
  private readonly privateKey: KeyObject;
  private readonly jwk: TeePubkey;
  private cookie?: string;
  private token?: { value: string; exp: number };

  constructor(private readonly opts: KbsClientOptions) {
    const { privateKey, publicJwk } = teeKeyPair();
    this.privateKey = privateKey;
    this.jwk = publicJwk;
  }

  /** Attests (or reuses a live token) and returns the token. */
  async attest(): Promise<string> {
    if (this.token && this.token.exp - 30 > Date.now() / 1000) return this.token.value;
    const auth: AuthRequest = { version: KBS_PROTOCOL_VERSION, tee: this.opts.attester.tee, 'extra-params': '' };
    const nonce = (await this.call<AuthReply>('POST', '/kbs/v0/auth', auth)).nonce;
    if (typeof nonce !== 'string') throw new CloakError('AGENT_KBS_PROTOCOL', 'the KBS answered /auth without a nonce');
    const evidence = await this.opts.attester.evidence(runtimeDataDigest(nonce, this.jwk, ''));
    const attest: AttestRequest = {
      ...(this.opts.initData ? { 'init-data': { format: 'toml', body: this.opts.initData } } : {}),
      'runtime-data': { nonce, 'tee-pubkey': this.jwk },
      'tee-evidence': { primary_evidence: evidence, additional_evidence: '' },
    };
    const token = (await this.call<AttestReply>('POST', '/kbs/v0/attest', attest)).token;
    if (typeof token !== 'string')
      throw new CloakError('AGENT_KBS_PROTOCOL', 'the KBS answered /attest without a token');
    const exp = Number(decodeJwt(token).exp ?? 0);
    this.token = { value: token, exp };
    return token;
  }

  /** Fetches and decrypts one resource (`repo/type/tag`). */
  async resource(path: string): Promise<Buffer> {
    const token = await this.attest();
    const jwe = await this.call<FlattenedJwe>('GET', `/kbs/v0/resource/${path}`, undefined, {
      authorization: `Bearer ${token}`,
    });
    try {
      return await decryptFromKbs(jwe, this.privateKey);
    } catch (e) {
      throw new CloakError('AGENT_JWE_INVALID', `the KBS reply for ${path} does not decrypt with this workload's key`, {
        cause: e,
      });
    }
  }

  /** One protocol call; the reply is the server's, unchecked: `Reply` says what a conforming KBS sends, callers check what they use. */
  private async call<Reply>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Partial<Reply>> {
    const doFetch = this.opts.fetch ?? fetch;
    const retries = this.opts.retries ?? 4;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await doFetch(this.opts.url.replace(/\/+$/, '') + path, {
          method,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(this.cookie ? { cookie: `${SESSION_COOKIE}=${this.cookie}` } : {}),
            ...headers,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (e) {
        if (attempt >= retries)
          throw new CloakError(
            'AGENT_KBS_UNREACHABLE',
            `cannot reach the KBS at ${this.opts.url}: ${(e as Error).cause ?? (e as Error).message}`,
          );
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        continue;
      }
      const m = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(res.headers.get('set-cookie') ?? '');
      if (m) this.cookie = m[1];
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      if (res.status >= 500 && attempt < retries) {
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        continue;
      }
      if (!res.ok) {
        const p = (parsed ?? {}) as { detail?: string; code?: string };
        // The KBS's own code (or its HTTP status), passed on as the server sent it.
        throw new CloakError(
          (p.code ?? `AGENT_KBS_${res.status}`) as ErrorCode,
          `the KBS refused ${method} ${path} (${res.status}): ${p.detail ?? text.slice(0, 300)}`,
          { details: { status: res.status } },
        );
      }
      return (parsed ?? {}) as Partial<Reply>;
    }
  }
}
