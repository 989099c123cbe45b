/**
 * A KBS 0.4.0 client written from shared/specs/kbs-protocol.md for the
 * end-to-end tests. It deliberately shares no code with the server.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import { flattenedDecrypt } from 'jose';

export type KeyKind = 'EC' | 'RSA';

export interface TeeKey {
  jwk: Record<string, string>;
  privateKey: KeyObject;
}

export function teeKey(kind: KeyKind): TeeKey {
  if (kind === 'EC') {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { kty, crv, x, y } = publicKey.export({ format: 'jwk' }) as Record<string, string>;
    return { jwk: { kty: kty!, crv: crv!, alg: 'ECDH-ES+A256KW', x: x!, y: y! }, privateKey };
  }
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { kty, n, e } = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  return { jwk: { kty: kty!, alg: 'RSA-OAEP-256', n: n!, e: e! }, privateKey };
}

/** SHA-384 of the canonical runtime data, as the spec binds nonce and key. */
export function bindingDigest(nonce: string, jwk: unknown, additional = ''): Buffer {
  const text = (canonicalize as unknown as (v: unknown) => string)({
    'additional-evidence': additional,
    nonce,
    'tee-pubkey': jwk,
  });
  return createHash('sha384').update(text).digest();
}

export class KbsClient {
  cookie?: string;
  token?: string;
  constructor(readonly url: string) {}

  async auth(tee: string, version = '0.4.0'): Promise<{ status: number; nonce?: string; body: any }> {
    const res = await fetch(`${this.url}/kbs/v0/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        version,
        tee,
        'extra-params': { 'supported-hash-algorithms': ['sha256', 'sha384', 'sha512', 'sm3'] },
      }),
    });
    const setCookie = res.headers.get('set-cookie') ?? '';
    const m = /kbs-session-id=([0-9a-f]+)/.exec(setCookie);
    if (m) this.cookie = m[1];
    const body = await res.json();
    return { status: res.status, nonce: body.nonce, body };
  }

  async attest(payload: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.url}/kbs/v0/attest`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.cookie ? { cookie: `kbs-session-id=${this.cookie}` } : {}),
      },
      body: JSON.stringify(payload),
    });
    const body = await res.json();
    if (res.ok) this.token = body.token;
    return { status: res.status, body };
  }

  async resource(path: string, form: 'cookie' | 'bearer'): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    if (form === 'cookie' && this.cookie) headers.cookie = `kbs-session-id=${this.cookie}`;
    if (form === 'bearer' && this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(`${this.url}/kbs/v0/resource/${path}`, { headers });
    return { status: res.status, body: await res.json() };
  }
}

export async function decryptJwe(jwe: any, key: TeeKey): Promise<Buffer> {
  const { plaintext } = await flattenedDecrypt(jwe, key.privateKey);
  return Buffer.from(plaintext);
}

export function attestPayload(nonce: string, key: TeeKey, primary: unknown, initData?: string) {
  return {
    ...(initData ? { 'init-data': { format: 'toml', body: initData } } : {}),
    'runtime-data': { nonce, 'tee-pubkey': key.jwk },
    'tee-evidence': { primary_evidence: primary, additional_evidence: '' },
  };
}
