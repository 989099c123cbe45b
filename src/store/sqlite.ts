import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import { CloakError } from '../lib/index.ts';
import type { AuditInput, AuditRecord, ManifestRecord, ResourceInfo, SessionRecord, Store, AuditHeadRecord } from './types.ts';
import { seal, unseal } from './sealing.ts';
import { GENESIS_HASH, makeAuditRecord, auditHeadMac } from './audit-chain.ts';
import { MIGRATIONS } from './schema.ts';
import { storeError } from './db-errors.ts';
import { patchSession, sealSession, unsealSession } from './session-codec.ts';
import { auditLimit, checkAuditQuery, type AuditQuery } from './query.ts';

type Row = Record<string, any>;

/** The embedded default: one SQLite file, WAL, synchronous=FULL (an acknowledged write survives kill -9 and power loss). */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** Sessions live minutes and a crash only costs a re-auth: their own handle skips the fsync per commit. */
  private readonly sessionsDb: Database.Database;

  constructor(path: string, private readonly key: Buffer) {
    let db: Database.Database | undefined;
    try {
      this.db = db = new Database(path);
      if (path !== ':memory:') chmodSync(path, 0o600); // SQLite gives -wal and -shm the same mode
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      this.migrate();
      if (path === ':memory:') {
        this.sessionsDb = this.db;
      } else {
        this.sessionsDb = new Database(path);
        this.sessionsDb.pragma('synchronous = NORMAL');
        this.sessionsDb.pragma('busy_timeout = 5000');
      }
    } catch (e) {
      if (db?.open) db.close();
      throw storeError(e, `cannot open SQLite database ${path}`);
    }
  }

  /** Inside one IMMEDIATE transaction, so two processes opening the same file at once apply each migration once. */
  private migrate(): void {
    this.db.transaction(() => {
      this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
      const current = (this.db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as Row).v ?? 0;
      for (const m of MIGRATIONS.filter((m) => m.version > current)) {
        this.db.exec(m.sqlite);
        this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(m.version);
      }
    }).immediate();
  }

  private async guard<T>(what: string, fn: () => T): Promise<T> {
    try {
      return fn();
    } catch (e) {
      throw storeError(e, what);
    }
  }

  putResource(path: string, value: Buffer): Promise<void> {
    return this.guard(`cannot store resource ${path}`, () => {
      this.db.prepare('INSERT INTO resources (path, sealed, size, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET sealed = excluded.sealed, size = excluded.size, updated_at = excluded.updated_at')
        .run(path, seal(this.key, `resource:${path}`, value), value.length, new Date().toISOString());
    });
  }

  getResource(path: string): Promise<Buffer | undefined> {
    return this.guard(`cannot read resource ${path}`, () => {
      const row = this.db.prepare('SELECT sealed FROM resources WHERE path = ?').get(path) as Row | undefined;
      return row ? unseal(this.key, `resource:${path}`, row.sealed) : undefined;
    });
  }

  listResources(): Promise<ResourceInfo[]> {
    return this.guard('cannot list resources', () =>
      (this.db.prepare('SELECT path, size, updated_at FROM resources ORDER BY path').all() as Row[]).map((r) => ({ path: r.path, size: r.size, updatedAt: r.updated_at })));
  }

  deleteResource(path: string): Promise<boolean> {
    return this.guard(`cannot delete resource ${path}`, () => this.db.prepare('DELETE FROM resources WHERE path = ?').run(path).changes > 0);
  }

  getPolicy(name: string): Promise<string | undefined> {
    return this.guard(`cannot read policy ${name}`, () => (this.db.prepare('SELECT text FROM policies WHERE name = ?').get(name) as Row | undefined)?.text);
  }

  setPolicy(name: string, text: string): Promise<void> {
    return this.guard(`cannot store policy ${name}`, () => {
      this.db.prepare('INSERT INTO policies (name, text, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at').run(name, text, new Date().toISOString());
    });
  }

  putReferenceValue(name: string, value: unknown): Promise<void> {
    return this.guard(`cannot store reference value ${name}`, () => {
      this.db.prepare('INSERT INTO reference_values (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value').run(name, JSON.stringify(value));
    });
  }

  getReferenceValue(name: string): Promise<unknown | undefined> {
    return this.guard(`cannot read reference value ${name}`, () => {
      const row = this.db.prepare('SELECT value FROM reference_values WHERE name = ?').get(name) as Row | undefined;
      return row ? JSON.parse(row.value) : undefined;
    });
  }

  listReferenceValues(): Promise<{ name: string; value: unknown }[]> {
    return this.guard('cannot list reference values', () =>
      (this.db.prepare('SELECT name, value FROM reference_values ORDER BY name').all() as Row[]).map((r) => ({ name: r.name, value: JSON.parse(r.value) })));
  }

  deleteReferenceValue(name: string): Promise<boolean> {
    return this.guard(`cannot delete reference value ${name}`, () => this.db.prepare('DELETE FROM reference_values WHERE name = ?').run(name).changes > 0);
  }

  getSecretMeta(key: string): Promise<Buffer | undefined> {
    return this.guard(`cannot read server secret ${key}`, () => {
      const row = this.db.prepare('SELECT sealed FROM secret_meta WHERE key = ?').get(key) as Row | undefined;
      return row ? unseal(this.key, `meta:${key}`, row.sealed) : undefined;
    });
  }

  setSecretMeta(key: string, value: Buffer): Promise<void> {
    // First writer wins: replicas racing to create the same key agree on one value.
    return this.guard(`cannot store server secret ${key}`, () => {
      this.db.prepare('INSERT INTO secret_meta (key, sealed) VALUES (?, ?) ON CONFLICT(key) DO NOTHING').run(key, seal(this.key, `meta:${key}`, value));
    });
  }

  createSession(s: SessionRecord): Promise<void> {
    return this.guard(`cannot create session ${s?.id}`, () => {
      const { sealed, expiresAt } = sealSession(this.key, s);
      this.sessionsDb.prepare('INSERT INTO sessions (id, sealed, expires_at) VALUES (?, ?, ?)').run(s.id, sealed, expiresAt);
    });
  }

  getSession(id: string): Promise<SessionRecord | undefined> {
    return this.guard(`cannot read session ${id}`, () => {
      const row = this.sessionsDb.prepare('SELECT sealed FROM sessions WHERE id = ?').get(id) as Row | undefined;
      return row ? unsealSession(this.key, id, row.sealed) : undefined;
    });
  }

  updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void> {
    return this.guard(`cannot update session ${id}`, () => {
      this.sessionsDb.transaction(() => {
        const row = this.sessionsDb.prepare('SELECT sealed FROM sessions WHERE id = ?').get(id) as Row | undefined;
        if (!row) return;
        const { sealed, expiresAt } = sealSession(this.key, patchSession(unsealSession(this.key, id, row.sealed), patch));
        this.sessionsDb.prepare('UPDATE sessions SET sealed = ?, expires_at = ? WHERE id = ?').run(sealed, expiresAt, id);
      }).immediate();
    });
  }

  deleteSession(id: string): Promise<void> {
    return this.guard(`cannot delete session ${id}`, () => { this.sessionsDb.prepare('DELETE FROM sessions WHERE id = ?').run(id); });
  }

  sweepSessions(now: Date): Promise<number> {
    return this.guard('cannot sweep sessions', () => this.sessionsDb.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now.getTime()).changes);
  }

  appendAudit(entry: AuditInput, now: Date = new Date()): Promise<AuditRecord> {
    return this.guard(`cannot append audit record ${entry?.kind}`, () => this.db.transaction(() => {
      const last = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as Row | undefined;
      const record = makeAuditRecord(entry, (last?.seq ?? 0) + 1, last?.hash ?? GENESIS_HASH, now);
      this.db.prepare('INSERT INTO audit (seq, time, kind, outcome, record, hash) VALUES (?, ?, ?, ?, ?, ?)')
        .run(record.seq, record.time, record.kind, record.outcome, JSON.stringify(record), record.hash);
      this.db.prepare('INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac')
        .run(record.seq, record.hash, auditHeadMac(this.key, record.seq, record.hash));
      return record;
    }).immediate());
  }

  auditHead(): Promise<AuditHeadRecord | undefined> {
    return this.guard('cannot read the audit head', () => {
      const row = this.db.prepare('SELECT seq, hash, mac FROM audit_head WHERE id = 1').get() as Row | undefined;
      return row ? { seq: row.seq, hash: row.hash, authentic: auditHeadMac(this.key, row.seq, row.hash) === row.mac } : undefined;
    });
  }

  queryAudit(q: AuditQuery): Promise<AuditRecord[]> {
    return this.guard('cannot query the audit log', () => {
      checkAuditQuery(q);
      const where = ['seq > ?'];
      const args: unknown[] = [q.afterSeq ?? 0];
      if (q.kind) { where.push('kind = ?'); args.push(q.kind); }
      if (q.outcome) { where.push('outcome = ?'); args.push(q.outcome); }
      if (q.since) { where.push('time >= ?'); args.push(q.since.toISOString()); }
      args.push(auditLimit(q.limit));
      return (this.db.prepare(`SELECT record FROM audit WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...args) as Row[]).map((r) => JSON.parse(r.record));
    });
  }

  putManifest(m: Omit<ManifestRecord, 'createdAt'>): Promise<void> {
    return this.guard(`cannot store manifest version ${m?.version}`, () => {
      try {
        this.db.prepare('INSERT INTO manifests (version, digest, text, signatures, created_at) VALUES (?, ?, ?, ?, ?)').run(m.version, m.digest, m.text, JSON.stringify(m.signatures), new Date().toISOString());
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new CloakError('STORE_CONFLICT', `manifest version ${m.version} already exists`, { status: 409 });
        throw e;
      }
    });
  }

  getManifest(version?: number): Promise<ManifestRecord | undefined> {
    return this.guard('cannot read the manifest', () => {
      const row = (version === undefined
        ? this.db.prepare('SELECT * FROM manifests ORDER BY version DESC LIMIT 1').get()
        : this.db.prepare('SELECT * FROM manifests WHERE version = ?').get(version)) as Row | undefined;
      return row ? { version: row.version, digest: row.digest, text: row.text, signatures: JSON.parse(row.signatures), createdAt: row.created_at } : undefined;
    });
  }

  listManifests(): Promise<Array<{ version: number; digest: string; createdAt: string }>> {
    return this.guard('cannot list manifests', () =>
      (this.db.prepare('SELECT version, digest, created_at FROM manifests ORDER BY version').all() as Row[]).map((r) => ({ version: r.version, digest: r.digest, createdAt: r.created_at })));
  }

  async close(): Promise<void> {
    if (this.sessionsDb !== this.db && this.sessionsDb.open) this.sessionsDb.close();
    if (this.db.open) this.db.close();
  }
}
