import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CloakError } from '../lib/index.ts';
import type { Store } from './types.ts';
import { SqliteStore } from './sqlite.ts';
import { PostgresStore } from './postgres.ts';

/** Opens `sqlite:PATH`, `sqlite::memory:` or `postgres://…`, applying migrations. */
export async function openStore(url: string, opts: { sealingKey: Buffer; dataDir?: string }): Promise<Store> {
  if (opts.sealingKey.length !== 32) throw new CloakError('STORE_SEALING_KEY_INVALID', 'the sealing key must be 32 bytes');
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (!path) throw new CloakError('STORE_URL_INVALID', 'sqlite: needs a path (sqlite:/var/lib/cloak/cloak.db) or :memory:');
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    return new SqliteStore(path, opts.sealingKey);
  }
  if (/^postgres(ql)?:\/\//.test(url)) return PostgresStore.open(url, opts.sealingKey);
  throw new CloakError('STORE_URL_INVALID', `unsupported database URL "${url.split(':')[0]}:…" (sqlite:PATH or postgres://…)`);
}
