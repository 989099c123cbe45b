import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { openStore, type Store } from '../../store/index.ts';
import type { KeyBroker } from '../broker.ts';
import type { TeePubkey } from '../schemas.ts';

/** The store the broker tests run on: SQLite in memory, sealed with a fresh random key. */
export function memoryStore(): Promise<Store> {
  return openStore('sqlite::memory:', { sealingKey: randomBytes(32) });
}

/** A fresh P-256 tee-pubkey as a CoCo guest sends it: the public JWK with `alg` ECDH-ES+A256KW. */
export function teePubkey(): TeePubkey {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  return { ...jwk, alg: 'ECDH-ES+A256KW' } as TeePubkey;
}

/** One guest round on a fresh session: auth for `tee`, then attest with this primary evidence, key and init-data (TOML). */
export async function attestOnce(
  broker: KeyBroker,
  tee: string,
  evidence: unknown,
  jwk: TeePubkey,
  initData?: string,
): Promise<string> {
  const s = await broker.auth({ version: '0.4.0', tee });
  return broker.attest(s.sessionId, {
    'runtime-data': { nonce: s.nonce, 'tee-pubkey': jwk },
    'tee-evidence': { primary_evidence: evidence, additional_evidence: '' },
    ...(initData === undefined ? {} : { 'init-data': { format: 'toml', body: initData } }),
  });
}
