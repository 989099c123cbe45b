import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, existsSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where initdb/pg_ctl live (PATH first, then Debian's versioned directory). */
function pgBin(name: string): string | undefined {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status === 0) return name;
  for (const v of ['17', '16', '15', '14']) {
    const p = `/usr/lib/postgresql/${v}/bin/${name}`;
    if (existsSync(p)) return p;
  }
  return undefined;
}

export function pgAvailable(): boolean {
  return pgBin('initdb') !== undefined && pgBin('pg_ctl') !== undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function asPostgresUser(cmd: string[], env: Record<string, string> = {}) {
  const root = process.getuid?.() === 0;
  const argv = root ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd;
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr || r.stdout || r.error}`);
  return r.stdout;
}

/**
 * Starts a throwaway PostgreSQL cluster in a temp dir, listening only on
 * 127.0.0.1 (trust auth), with an empty database `cloak` owned by superuser
 * `cloak`. `dataDir` is the cluster's files (tests grep them for plaintext).
 * Tests call stop() after: `pg_ctl stop -m immediate`, then the dir is removed.
 */
export async function startPgCluster(): Promise<{ url: string; dataDir: string; stop(): Promise<void> }> {
  const initdb = pgBin('initdb');
  const pgCtl = pgBin('pg_ctl');
  if (!initdb || !pgCtl) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'cloak-pg-'));
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) chownSync(dir, Number(asIdOf('postgres', '-u')), Number(asIdOf('postgres', '-g')));
  const data = join(dir, 'data');
  const port = await freePort();
  asPostgresUser([initdb, '-D', data, '-U', 'cloak', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  asPostgresUser([
    pgCtl,
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-w',
    '-t',
    '60',
    '-o',
    `-k ${dir} -h 127.0.0.1 -p ${port} -c fsync=off`,
    'start',
  ]);
  const psql = pgBin('psql') ?? 'psql';
  asPostgresUser([
    psql,
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'cloak',
    '-d',
    'postgres',
    '-c',
    'CREATE DATABASE cloak',
  ]);
  return {
    url: `postgres://cloak@127.0.0.1:${port}/cloak`,
    dataDir: data,
    async stop() {
      try {
        asPostgresUser([pgCtl, '-D', data, '-m', 'immediate', 'stop']);
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function asIdOf(user: string, flag: '-u' | '-g'): string {
  return spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim();
}
