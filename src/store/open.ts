import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { CloakError } from '../lib/index.ts';
import type { Store } from './types.ts';
import { SqliteStore } from './sqlite.ts';
import { PostgresStore } from './postgres.ts';

/**
 * Opens `sqlite:PATH`, `sqlite::memory:`, `postgres://…` or `postgresql://…`
 * and applies pending migrations. A relative SQLite path is taken relative
 * to `dataDir` when one is given.
 */
export async function openStore(url: string, opts: { sealingKey: Buffer; dataDir?: string }): Promise<Store> {
  if (!Buffer.isBuffer(opts?.sealingKey) || opts.sealingKey.length !== 32) {
    throw new CloakError('STORE_SEALING_KEY_INVALID', 'the sealing key must be 32 bytes');
  }
  const key = Buffer.from(opts.sealingKey); // our own copy: a caller reusing its buffer cannot change it under us
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (!path)
      throw new CloakError('STORE_URL_INVALID', 'sqlite: needs a path (sqlite:/var/lib/cloak/cloak.db) or :memory:');
    if (path !== ':memory:') {
      if (!isAbsolute(path) && opts.dataDir) path = join(opts.dataDir, path);
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      } catch (e) {
        throw new CloakError('STORE_OPEN_FAILED', `cannot create the directory for ${path}: ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
    return new SqliteStore(path, key);
  }
  if (/^postgres(ql)?:\/\//.test(url)) return PostgresStore.open(url, key);
  throw new CloakError(
    'STORE_URL_INVALID',
    `unsupported database URL "${url.split(':')[0]}:…" (sqlite:PATH, sqlite::memory: or postgres://…)`,
  );
}
