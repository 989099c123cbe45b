import Database from 'better-sqlite3';
import { CloakError } from '../lib/index.ts';
import type { AuditInput, AuditRecord, ManifestRecord, ResourceInfo, SessionRecord, Store } from './types.ts';
import { seal, unseal } from './sealing.ts';
import { GENESIS_HASH, makeAuditRecord } from './audit-chain.ts';
import { MIGRATIONS } from './schema.ts';

type Row = Record<string, any>;

/** The embedded default: one SQLite file, WAL, synchronous=FULL (an acknowledged write survives kill -9). */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** Sessions live 5 minutes and a crash only costs a re-auth: their own handle skips the fsync per commit. */
  private readonly sessionsDb: Database.Database;

  constructor(path: string, private readonly key: Buffer) {
    try {
      this.db = new Database(path);
    } catch (e) {
      throw new CloakError('STORE_OPEN_FAILED', `cannot open SQLite database ${path}: ${(e as Error).message}`, { cause: e });
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    if (path === ':memory:') {
      this.sessionsDb = this.db;
    } else {
      this.sessionsDb = new Database(path);
      this.sessionsDb.pragma('synchronous = NORMAL');
      this.sessionsDb.pragma('busy_timeout = 5000');
    }
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const current = (this.db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as Row).v ?? 0;
    this.db.transaction(() => {
      for (const m of MIGRATIONS.filter((m) => m.version > current)) {
        this.db.exec(m.sqlite);
        this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(m.version);
      }
    }).immediate();
  }

  async putResource(path: string, value: Buffer): Promise<void> {
    this.db.prepare('INSERT INTO resources (path, sealed, size, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET sealed = excluded.sealed, size = excluded.size, updated_at = excluded.updated_at')
      .run(path, seal(this.key, `resource:${path}`, value), value.length, new Date().toISOString());
  }

  async getResource(path: string): Promise<Buffer | undefined> {
    const row = this.db.prepare('SELECT sealed FROM resources WHERE path = ?').get(path) as Row | undefined;
    return row ? unseal(this.key, `resource:${path}`, row.sealed) : undefined;
  }

  async listResources(): Promise<ResourceInfo[]> {
    return (this.db.prepare('SELECT path, size, updated_at FROM resources ORDER BY path').all() as Row[]).map((r) => ({ path: r.path, size: r.size, updatedAt: r.updated_at }));
  }

  async deleteResource(path: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM resources WHERE path = ?').run(path).changes > 0;
  }

  async getPolicy(name: string): Promise<string | undefined> {
    return (this.db.prepare('SELECT text FROM policies WHERE name = ?').get(name) as Row | undefined)?.text;
  }

  async setPolicy(name: string, text: string): Promise<void> {
    this.db.prepare('INSERT INTO policies (name, text, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at').run(name, text, new Date().toISOString());
  }

  async putReferenceValue(name: string, value: unknown): Promise<void> {
    this.db.prepare('INSERT INTO reference_values (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value').run(name, JSON.stringify(value));
  }

  async getReferenceValue(name: string): Promise<unknown | undefined> {
    const row = this.db.prepare('SELECT value FROM reference_values WHERE name = ?').get(name) as Row | undefined;
    return row ? JSON.parse(row.value) : undefined;
  }

  async listReferenceValues(): Promise<{ name: string; value: unknown }[]> {
    return (this.db.prepare('SELECT name, value FROM reference_values ORDER BY name').all() as Row[]).map((r) => ({ name: r.name, value: JSON.parse(r.value) }));
  }

  async deleteReferenceValue(name: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM reference_values WHERE name = ?').run(name).changes > 0;
  }

  async getSecretMeta(key: string): Promise<Buffer | undefined> {
    const row = this.db.prepare('SELECT sealed FROM secret_meta WHERE key = ?').get(key) as Row | undefined;
    return row ? unseal(this.key, `meta:${key}`, row.sealed) : undefined;
  }

  async setSecretMeta(key: string, value: Buffer): Promise<void> {
    // First writer wins: replicas racing to create the same key agree on one value.
    this.db.prepare('INSERT INTO secret_meta (key, sealed) VALUES (?, ?) ON CONFLICT(key) DO NOTHING').run(key, seal(this.key, `meta:${key}`, value));
  }

  async createSession(s: SessionRecord): Promise<void> {
    this.sessionsDb.prepare('INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?)').run(s.id, JSON.stringify(s), s.expiresAt.getTime());
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const row = this.sessionsDb.prepare('SELECT data FROM sessions WHERE id = ?').get(id) as Row | undefined;
    return row ? reviveSession(row.data) : undefined;
  }

  async updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void> {
    this.sessionsDb.transaction(() => {
      const row = this.sessionsDb.prepare('SELECT data FROM sessions WHERE id = ?').get(id) as Row | undefined;
      if (!row) return;
      const s = { ...reviveSession(row.data), ...patch };
      this.sessionsDb.prepare('UPDATE sessions SET data = ?, expires_at = ? WHERE id = ?').run(JSON.stringify(s), s.expiresAt.getTime(), id);
    }).immediate();
  }

  async deleteSession(id: string): Promise<void> {
    this.sessionsDb.prepare('DELETE FROM sessions WHERE id = ?').run(id);
  }

  async sweepSessions(now: Date): Promise<number> {
    return this.sessionsDb.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now.getTime()).changes;
  }

  async appendAudit(entry: AuditInput, now: Date = new Date()): Promise<AuditRecord> {
    return this.db.transaction(() => {
      const last = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as Row | undefined;
      const record = makeAuditRecord(entry, (last?.seq ?? 0) + 1, last?.hash ?? GENESIS_HASH, now);
      this.db.prepare('INSERT INTO audit (seq, time, kind, outcome, record, hash) VALUES (?, ?, ?, ?, ?, ?)')
        .run(record.seq, record.time, record.kind, record.outcome, JSON.stringify(record), record.hash);
      return record;
    }).immediate();
  }

  async queryAudit(q: { afterSeq?: number; kind?: string; outcome?: string; since?: Date; limit?: number }): Promise<AuditRecord[]> {
    const where = ['seq > ?'];
    const args: unknown[] = [q.afterSeq ?? 0];
    if (q.kind) { where.push('kind = ?'); args.push(q.kind); }
    if (q.outcome) { where.push('outcome = ?'); args.push(q.outcome); }
    if (q.since) { where.push('time >= ?'); args.push(q.since.toISOString()); }
    args.push(Math.max(1, Math.min(q.limit ?? 100, 10_000)));
    return (this.db.prepare(`SELECT record FROM audit WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...args) as Row[]).map((r) => JSON.parse(r.record));
  }

  async putManifest(m: Omit<ManifestRecord, 'createdAt'>): Promise<void> {
    try {
      this.db.prepare('INSERT INTO manifests (version, digest, text, signatures, created_at) VALUES (?, ?, ?, ?, ?)').run(m.version, m.digest, m.text, JSON.stringify(m.signatures), new Date().toISOString());
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new CloakError('STORE_CONFLICT', `manifest version ${m.version} already exists`, { status: 409 });
      throw e;
    }
  }

  async getManifest(version?: number): Promise<ManifestRecord | undefined> {
    const row = (version === undefined
      ? this.db.prepare('SELECT * FROM manifests ORDER BY version DESC LIMIT 1').get()
      : this.db.prepare('SELECT * FROM manifests WHERE version = ?').get(version)) as Row | undefined;
    return row ? { version: row.version, digest: row.digest, text: row.text, signatures: JSON.parse(row.signatures), createdAt: row.created_at } : undefined;
  }

  async listManifests(): Promise<Array<{ version: number; digest: string; createdAt: string }>> {
    return (this.db.prepare('SELECT version, digest, created_at FROM manifests ORDER BY version').all() as Row[]).map((r) => ({ version: r.version, digest: r.digest, createdAt: r.created_at }));
  }

  async close(): Promise<void> {
    if (this.sessionsDb !== this.db && this.sessionsDb.open) this.sessionsDb.close();
    if (this.db.open) this.db.close();
  }
}

export function reviveSession(json: string): SessionRecord {
  const s = JSON.parse(json);
  return { ...s, createdAt: new Date(s.createdAt), expiresAt: new Date(s.expiresAt) };
}
