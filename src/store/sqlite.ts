import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import { CloakError } from '../lib/index.ts';
import type {
  AttestedSession,
  AuditCount,
  AuditCountQuery,
  AuditHeadRecord,
  AuditInput,
  AuditRecord,
  CountInput,
  ManifestRecord,
  ResourceInfo,
  SessionRecord,
  Store,
} from './types.ts';
import { seal, unseal } from './sealing.ts';
import { GENESIS_HASH, makeAuditRecord, auditHeadMac } from './audit-chain.ts';
import { MIGRATIONS } from './schema.ts';
import { storeError } from './db-errors.ts';
import { patchSession, sealSession, unsealSession } from './session-codec.ts';
import { auditLimit, checkAuditQuery, type AuditQuery } from './query.ts';
import {
  countFromRow,
  countKey,
  countQuerySql,
  lastPrunableHour,
  MAX_COUNT_KEYS_PER_HOUR,
  OVERFLOW_SOURCE,
} from './audit-counts.ts';

type Row = Record<string, any>;

/** The embedded default: one SQLite file, WAL, synchronous=FULL (an acknowledged write survives kill -9 and power loss). */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** Sessions live minutes and a crash only costs a re-auth: their own handle skips the fsync per commit. */
  private readonly sessionsDb: Database.Database;

  constructor(
    path: string,
    private readonly key: Buffer,
  ) {
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
    this.db
      .transaction(() => {
        this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
        const current = (this.db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as Row).v ?? 0;
        for (const m of MIGRATIONS.filter((m) => m.version > current)) {
          this.db.exec(m.sqlite);
          this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(m.version);
        }
      })
      .immediate();
  }

  private async guard<T>(what: string, fn: () => T): Promise<T> {
    try {
      return fn();
    } catch (e) {
      throw storeError(e, what);
    }
  }

  /** Runs `change` and appends `audit` (when given and `change` says so) in one IMMEDIATE transaction. */
  private audited<T>(
    what: string,
    audit: AuditInput | undefined,
    change: () => T,
    shouldAudit: (out: T) => boolean = () => true,
  ): Promise<T> {
    return this.guard(what, () =>
      this.db
        .transaction(() => {
          const out = change();
          if (audit && shouldAudit(out)) this.appendInTransaction(audit, new Date());
          return out;
        })
        .immediate(),
    );
  }

  putResource(path: string, value: Buffer, audit?: AuditInput): Promise<void> {
    return this.audited(`cannot store resource ${path}`, audit, () => this.upsertResource(path, value));
  }

  private upsertResource(
    path: string,
    value: Buffer,
    onConflict = 'DO UPDATE SET sealed = excluded.sealed, size = excluded.size, updated_at = excluded.updated_at',
  ): void {
    this.db
      .prepare(
        `INSERT INTO resources (path, sealed, size, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(path) ${onConflict}`,
      )
      .run(path, seal(this.key, `resource:${path}`, value), value.length, new Date().toISOString());
  }

  getResource(path: string): Promise<Buffer | undefined> {
    return this.guard(`cannot read resource ${path}`, () => {
      const row = this.db.prepare('SELECT sealed FROM resources WHERE path = ?').get(path) as Row | undefined;
      return row ? unseal(this.key, `resource:${path}`, row.sealed) : undefined;
    });
  }

  listResources(): Promise<ResourceInfo[]> {
    return this.guard('cannot list resources', () =>
      (this.db.prepare('SELECT path, size, updated_at FROM resources ORDER BY path').all() as Row[]).map((r) => ({
        path: r.path,
        size: r.size,
        updatedAt: r.updated_at,
      })),
    );
  }

  deleteResource(path: string, audit?: AuditInput): Promise<boolean> {
    return this.audited(
      `cannot delete resource ${path}`,
      audit,
      () => this.db.prepare('DELETE FROM resources WHERE path = ?').run(path).changes > 0,
      (existed) => existed,
    );
  }

  getPolicy(name: string): Promise<string | undefined> {
    return this.guard(
      `cannot read policy ${name}`,
      () => (this.db.prepare('SELECT text FROM policies WHERE name = ?').get(name) as Row | undefined)?.text,
    );
  }

  setPolicy(name: string, text: string, audit?: AuditInput): Promise<void> {
    return this.audited(`cannot store policy ${name}`, audit, () => {
      this.db
        .prepare(
          'INSERT INTO policies (name, text, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at',
        )
        .run(name, text, new Date().toISOString());
    });
  }

  putReferenceValue(name: string, value: unknown, audit?: AuditInput): Promise<void> {
    return this.audited(`cannot store reference value ${name}`, audit, () => {
      this.db
        .prepare(
          'INSERT INTO reference_values (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
        )
        .run(name, JSON.stringify(value));
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
      (this.db.prepare('SELECT name, value FROM reference_values ORDER BY name').all() as Row[]).map((r) => ({
        name: r.name,
        value: JSON.parse(r.value),
      })),
    );
  }

  deleteReferenceValue(name: string, audit?: AuditInput): Promise<boolean> {
    return this.audited(
      `cannot delete reference value ${name}`,
      audit,
      () => this.db.prepare('DELETE FROM reference_values WHERE name = ?').run(name).changes > 0,
      (existed) => existed,
    );
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
      this.db
        .prepare('INSERT INTO secret_meta (key, sealed) VALUES (?, ?) ON CONFLICT(key) DO NOTHING')
        .run(key, seal(this.key, `meta:${key}`, value));
    });
  }

  createSession(s: SessionRecord): Promise<void> {
    return this.guard(`cannot create session ${s?.id}`, () => {
      const { sealed, expiresAt } = sealSession(this.key, s);
      this.sessionsDb
        .prepare('INSERT INTO sessions (id, sealed, expires_at) VALUES (?, ?, ?)')
        .run(s.id, sealed, expiresAt);
    });
  }

  getSession(id: string): Promise<SessionRecord | undefined> {
    return this.guard(`cannot read session ${id}`, () => this.readSession(this.sessionsDb, id));
  }

  updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void> {
    return this.guard(`cannot update session ${id}`, () => {
      this.sessionsDb
        .transaction(() => {
          const current = this.readSession(this.sessionsDb, id);
          if (current) this.writeSession(this.sessionsDb, patchSession(current, patch));
        })
        .immediate();
    });
  }

  /** On the durable handle: the token is never handed out without its audit record on disk. */
  attestSession(
    id: string,
    result: AttestedSession,
    audit: AuditInput,
  ): Promise<{ won: boolean; session?: SessionRecord }> {
    return this.guard(`cannot record the attestation of session ${id}`, () =>
      this.db
        .transaction(() => {
          const current = this.readSession(this.db, id);
          if (!current || current.attested) return { won: false, session: current };
          const next = patchSession(current, { ...result, attested: true });
          this.writeSession(this.db, next);
          this.appendInTransaction(audit, new Date());
          return { won: true, session: next };
        })
        .immediate(),
    );
  }

  abandonSession(id: string): Promise<boolean> {
    return this.guard(`cannot delete session ${id}`, () =>
      this.sessionsDb
        .transaction(() => {
          const current = this.readSession(this.sessionsDb, id);
          return (
            !!current &&
            !current.attested &&
            this.sessionsDb.prepare('DELETE FROM sessions WHERE id = ?').run(id).changes > 0
          );
        })
        .immediate(),
    );
  }

  private readSession(db: Database.Database, id: string): SessionRecord | undefined {
    const row = db.prepare('SELECT sealed FROM sessions WHERE id = ?').get(id) as Row | undefined;
    return row ? unsealSession(this.key, id, row.sealed) : undefined;
  }

  private writeSession(db: Database.Database, s: SessionRecord): void {
    const { sealed, expiresAt } = sealSession(this.key, s);
    db.prepare('UPDATE sessions SET sealed = ?, expires_at = ? WHERE id = ?').run(sealed, expiresAt, s.id);
  }

  deleteSession(id: string): Promise<void> {
    return this.guard(`cannot delete session ${id}`, () => {
      this.sessionsDb.prepare('DELETE FROM sessions WHERE id = ?').run(id);
    });
  }

  sweepSessions(now: Date): Promise<number> {
    return this.guard(
      'cannot sweep sessions',
      () => this.sessionsDb.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now.getTime()).changes,
    );
  }

  appendAudit(entry: AuditInput, now: Date = new Date()): Promise<AuditRecord> {
    return this.guard(`cannot append audit record ${entry?.kind}`, () =>
      this.db.transaction(() => this.appendInTransaction(entry, now)).immediate(),
    );
  }

  /** Inside an IMMEDIATE transaction on this.db, which serialises appends across processes. */
  private appendInTransaction(entry: AuditInput, now: Date): AuditRecord {
    const last = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as Row | undefined;
    const record = makeAuditRecord(entry, (last?.seq ?? 0) + 1, last?.hash ?? GENESIS_HASH, now);
    this.db
      .prepare('INSERT INTO audit (seq, time, kind, outcome, record, hash) VALUES (?, ?, ?, ?, ?, ?)')
      .run(record.seq, record.time, record.kind, record.outcome, JSON.stringify(record), record.hash);
    this.db
      .prepare(
        'INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac',
      )
      .run(record.seq, record.hash, auditHeadMac(this.key, record.seq, record.hash));
    return record;
  }

  auditHead(): Promise<AuditHeadRecord | undefined> {
    return this.guard('cannot read the audit head', () => {
      const row = this.db.prepare('SELECT seq, hash, mac FROM audit_head WHERE id = 1').get() as Row | undefined;
      return row
        ? { seq: row.seq, hash: row.hash, authentic: auditHeadMac(this.key, row.seq, row.hash) === row.mac }
        : undefined;
    });
  }

  queryAudit(q: AuditQuery): Promise<AuditRecord[]> {
    return this.guard('cannot query the audit log', () => {
      checkAuditQuery(q);
      const where = ['seq > ?'];
      const args: unknown[] = [q.afterSeq ?? 0];
      if (q.kind) {
        where.push('kind = ?');
        args.push(q.kind);
      }
      if (q.outcome) {
        where.push('outcome = ?');
        args.push(q.outcome);
      }
      if (q.since) {
        where.push('time >= ?');
        args.push(q.since.toISOString());
      }
      args.push(auditLimit(q.limit));
      return (
        this.db
          .prepare(`SELECT record FROM audit WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`)
          .all(...args) as Row[]
      ).map((r) => JSON.parse(r.record));
    });
  }

  putManifest(
    m: Omit<ManifestRecord, 'createdAt'>,
    opts: { generated?: Array<{ path: string; value: Buffer }>; audit?: AuditInput } = {},
  ): Promise<void> {
    return this.audited(`cannot store manifest version ${m?.version}`, opts.audit, () => {
      try {
        this.db
          .prepare('INSERT INTO manifests (version, digest, text, signatures, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(m.version, m.digest, m.text, JSON.stringify(m.signatures), new Date().toISOString());
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT'))
          throw new CloakError('STORE_CONFLICT', `manifest version ${m.version} already exists`);
        throw e;
      }
      for (const g of opts.generated ?? []) this.upsertResource(g.path, g.value, 'DO NOTHING');
    });
  }

  /** On the sessions handle (no fsync per count): a flood of refusals must not become a flood of fsyncs. */
  countAudit(entry: CountInput, now: Date = new Date()): Promise<void> {
    return this.guard(`cannot count audit event ${entry?.kind}`, () =>
      this.sessionsDb
        .transaction(() => {
          const k = countKey(entry, now);
          const db = this.sessionsDb;
          const bump = (source: string) =>
            db
              .prepare(
                'UPDATE audit_counts SET count = count + 1, first_time = MIN(first_time, ?), last_time = MAX(last_time, ?), sample = ? WHERE hour = ? AND source = ? AND kind = ? AND outcome = ? AND code = ?',
              )
              .run(k.time, k.time, k.sample, k.hour, source, k.kind, k.outcome, k.code).changes > 0;
          if (bump(k.source)) return;
          const keys = (db.prepare('SELECT COUNT(*) AS n FROM audit_counts WHERE hour = ?').get(k.hour) as Row).n;
          const source = keys < MAX_COUNT_KEYS_PER_HOUR ? k.source : OVERFLOW_SOURCE;
          if (source !== k.source && bump(source)) return;
          db.prepare(
            'INSERT INTO audit_counts (hour, source, kind, outcome, code, count, first_time, last_time, sample) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)',
          ).run(k.hour, source, k.kind, k.outcome, k.code, k.time, k.time, k.sample);
        })
        .immediate(),
    );
  }

  queryAuditCounts(q: AuditCountQuery): Promise<AuditCount[]> {
    return this.guard('cannot query the audit counts', () => {
      const { sql, args } = countQuerySql(q, () => '?');
      return (this.db.prepare(sql).all(...args) as Row[]).map(countFromRow);
    });
  }

  pruneAuditCounts(before: Date): Promise<number> {
    return this.guard(
      'cannot prune the audit counts',
      () => this.sessionsDb.prepare('DELETE FROM audit_counts WHERE hour <= ?').run(lastPrunableHour(before)).changes,
    );
  }

  getManifest(version?: number): Promise<ManifestRecord | undefined> {
    return this.guard('cannot read the manifest', () => {
      const row = (
        version === undefined
          ? this.db.prepare('SELECT * FROM manifests ORDER BY version DESC LIMIT 1').get()
          : this.db.prepare('SELECT * FROM manifests WHERE version = ?').get(version)
      ) as Row | undefined;
      return row
        ? {
            version: row.version,
            digest: row.digest,
            text: row.text,
            signatures: JSON.parse(row.signatures),
            createdAt: row.created_at,
          }
        : undefined;
    });
  }

  listManifests(): Promise<Array<{ version: number; digest: string; createdAt: string }>> {
    return this.guard('cannot list manifests', () =>
      (this.db.prepare('SELECT version, digest, created_at FROM manifests ORDER BY version').all() as Row[]).map(
        (r) => ({ version: r.version, digest: r.digest, createdAt: r.created_at }),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.sessionsDb !== this.db && this.sessionsDb.open) this.sessionsDb.close();
    if (this.db.open) this.db.close();
  }
}
