import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { isCloakError } from '../lib/index.ts';
import { openStore, loadOrCreateSealingKey, SCHEMA_VERSION } from './index.ts';
import { startPgCluster, pgAvailable } from './testing/pg-cluster.ts';
import { storeSuite, type StoreBackend } from './store.suite.ts';

async function sqliteBackend(): Promise<StoreBackend> {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-store-'));
  const path = join(dir, 'cloak.db');
  let raw: Database.Database | undefined;
  const rawDb = () => (raw ??= new Database(path));
  return {
    url: `sqlite:${path}`,
    open: (key) => openStore(`sqlite:${path}`, { sealingKey: key }),
    sql: async (text, args = []) => {
      const st = rawDb().prepare(text);
      return st.reader ? (st.all(...args) as Record<string, any>[]) : (st.run(...args), []);
    },
    rawBytes: async () =>
      Buffer.concat(['', '-wal', '-journal'].filter((s) => existsSync(path + s)).map((s) => readFileSync(path + s))),
    teardown: async () => {
      raw?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresBackend(): Promise<StoreBackend> {
  const cluster = await startPgCluster();
  const pool = new pg.Pool({ connectionString: cluster.url, max: 2 });
  const sql = async (text: string, args: unknown[] = []) => {
    let n = 0;
    return (
      await pool.query(
        text.replace(/\?/g, () => `$${++n}`),
        args,
      )
    ).rows;
  };
  return {
    url: cluster.url,
    open: (key) => openStore(cluster.url, { sealingKey: key }),
    sql,
    rawBytes: async () => {
      await sql('CHECKPOINT');
      return Buffer.concat(listFiles(cluster.dataDir).map((f) => readFileSync(f)));
    },
    teardown: async () => {
      await pool.end();
      await cluster.stop();
    },
  };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? listFiles(p) : e.isFile() ? [p] : [];
  });
}

const noPg = pgAvailable()
  ? false
  : 'PostgreSQL (initdb, pg_ctl) is not installed: apt-get install postgresql to run the PostgreSQL half';

storeSuite('SQLite', sqliteBackend);
storeSuite('PostgreSQL', postgresBackend, noPg);

const WRITER = fileURLToPath(new URL('./testing/write-stream.ts', import.meta.url));

function runNode(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('store: opening', () => {
  test('several processes opening one fresh SQLite file at once apply each migration once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloak-race-'));
    try {
      const path = join(dir, 'cloak.db');
      const key = randomBytes(32).toString('hex');
      const results = await Promise.all(
        Array.from({ length: 4 }, () => runNode([WRITER, `sqlite:${path}`, 'open'], { CLOAK_TEST_KEY: key })),
      );
      for (const r of results) assert.equal(r.stdout, 'opened\n', r.stderr);
      const db = new Database(path, { readonly: true });
      assert.deepEqual(
        db
          .prepare('SELECT version FROM schema_version ORDER BY version')
          .all()
          .map((r: any) => r.version),
        Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
      );
      db.close();
      assert.equal(statSync(path).mode & 0o777, 0o600, 'the database file is private to the server');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(
    'replicas opening one fresh PostgreSQL database at once apply each migration once (advisory lock)',
    { skip: noPg },
    async () => {
      const cluster = await startPgCluster();
      try {
        const key = randomBytes(32);
        const stores = await Promise.all(
          Array.from({ length: 6 }, () =>
            openStore(cluster.url.replace('postgres://', 'postgresql://'), { sealingKey: key }),
          ),
        );
        await stores[0]!.putResource('a/b/c', Buffer.from('x'));
        assert.deepEqual(await stores[5]!.getResource('a/b/c'), Buffer.from('x'));
        await Promise.all(stores.map((s) => s.close()));
        const c = new pg.Client({ connectionString: cluster.url });
        await c.connect();
        const versions = (await c.query('SELECT version FROM schema_version ORDER BY version')).rows.map(
          (r) => r.version,
        );
        await c.end();
        assert.deepEqual(
          versions,
          Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
        );
      } finally {
        await cluster.stop();
      }
    },
  );

  test('a relative SQLite path lives in the data dir; :memory: works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloak-data-'));
    try {
      const s = await openStore('sqlite:sub/cloak.db', { sealingKey: randomBytes(32), dataDir: dir });
      await s.setPolicy('resource', 'true');
      await s.close();
      assert.ok(existsSync(join(dir, 'sub', 'cloak.db')));
      const m = await openStore('sqlite::memory:', { sealingKey: randomBytes(32) });
      await m.putResource('a/b/c', Buffer.from('x'));
      assert.deepEqual(await m.getResource('a/b/c'), Buffer.from('x'));
      await m.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad URLs, bad keys and unreachable databases are CloakErrors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloak-bad-'));
    writeFileSync(join(dir, 'file'), 'not a directory');
    const cases: Array<[string, Buffer, string]> = [
      ['mysql://x', randomBytes(32), 'STORE_URL_INVALID'],
      ['sqlite:', randomBytes(32), 'STORE_URL_INVALID'],
      ['sqlite::memory:', randomBytes(16), 'STORE_SEALING_KEY_INVALID'],
      [`sqlite:${join(dir, 'file', 'sub', 'cloak.db')}`, randomBytes(32), 'STORE_OPEN_FAILED'],
      [`sqlite:${join(dir, 'file')}`, randomBytes(32), 'STORE_CORRUPT'],
      ['postgres://nobody@127.0.0.1:1/none?connect_timeout=2', randomBytes(32), 'STORE_UNAVAILABLE'],
    ];
    for (const [url, key, code] of cases) {
      await assert.rejects(openStore(url, { sealingKey: key }), (e) => isCloakError(e) && e.code.startsWith(code), url);
    }
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('store: sealing key file', () => {
  test('created 0600 with 32 random bytes, reused, wrong length refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloak-key-'));
    try {
      const path = join(dir, 'sub', 'sealing.key');
      const k = loadOrCreateSealingKey(path);
      assert.equal(k.length, 32);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.deepEqual(loadOrCreateSealingKey(path), k);
      assert.notDeepEqual(loadOrCreateSealingKey(join(dir, 'other.key')), k);
      assert.deepEqual(readdirSync(join(dir, 'sub')), ['sealing.key'], 'no temp file left behind');
      for (const bad of [Buffer.from('short'), Buffer.alloc(0), randomBytes(33)]) {
        writeFileSync(path, bad);
        assert.throws(
          () => loadOrCreateSealingKey(path),
          (e) => isCloakError(e, 'STORE_SEALING_KEY_INVALID'),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('processes creating the key at once all end up with the same key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloak-key-race-'));
    try {
      const path = join(dir, 'sealing.key');
      const mod = new URL('./sealing.ts', import.meta.url).href;
      const script = `const { loadOrCreateSealingKey } = await import(${JSON.stringify(mod)}); process.stdout.write(loadOrCreateSealingKey(${JSON.stringify(path)}).toString('hex'));`;
      const results = await Promise.all(
        Array.from({ length: 6 }, () => runNode(['--input-type=module', '-e', script])),
      );
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      assert.equal(new Set(results.map((r) => r.stdout)).size, 1);
      assert.equal(results[0]!.stdout, readFileSync(path).toString('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
