import pg from 'pg';
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

const MIGRATION_LOCK = 0x636c6b01; // "clk" + 1
const AUDIT_LOCK = 0x636c6b02;
const COUNT_KEYS_LOCK = 0x636c6b03;

/**
 * PostgreSQL: replicas share it, sessions included; audit appends are serialised by an advisory lock. A transaction
 * takes that lock last, after its row locks, so two transactions never wait on each other in opposite order.
 */
export class PostgresStore implements Store {
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly key: Buffer,
  ) {}

  static async open(url: string, key: Buffer): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    pool.on('error', () => {
      /* a dropped idle client is replaced on next use */
    });
    const store = new PostgresStore(pool, key);
    try {
      await store.migrate();
    } catch (e) {
      await pool.end().catch(() => {});
      throw storeError(e, 'cannot open the PostgreSQL database');
    }
    return store;
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw storeError(e, what);
    }
  }

  /** Under a transaction-level advisory lock: replicas starting together apply each migration once. */
  private async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
      const current = Number((await c.query('SELECT MAX(version) AS v FROM schema_version')).rows[0]?.v ?? 0);
      for (const m of MIGRATIONS.filter((m) => m.version > current)) {
        await c.query(m.postgres);
        await c.query('INSERT INTO schema_version (version) VALUES ($1)', [m.version]);
      }
    });
  }

  private async one(sql: string, args: unknown[]): Promise<Record<string, any> | undefined> {
    return (await this.pool.query(sql, args)).rows[0];
  }

  /** Runs `change` and appends `audit` (when given and `change` says so) in one transaction. */
  private audited<T>(
    what: string,
    audit: AuditInput | undefined,
    change: (c: pg.PoolClient) => Promise<T>,
    shouldAudit: (out: T) => boolean = () => true,
  ): Promise<T> {
    return this.guard(what, () =>
      this.tx(async (c) => {
        const out = await change(c);
        if (audit && shouldAudit(out)) await this.appendInTransaction(c, audit, new Date());
        return out;
      }),
    );
  }

  putResource(path: string, value: Buffer, audit?: AuditInput): Promise<void> {
    return this.audited(`cannot store resource ${path}`, audit, (c) => this.upsertResource(c, path, value));
  }

  private async upsertResource(
    c: pg.PoolClient,
    path: string,
    value: Buffer,
    onConflict = 'DO UPDATE SET sealed = EXCLUDED.sealed, size = EXCLUDED.size, updated_at = EXCLUDED.updated_at',
  ): Promise<void> {
    await c.query(
      `INSERT INTO resources (path, sealed, size, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (path) ${onConflict}`,
      [path, seal(this.key, `resource:${path}`, value), value.length, new Date().toISOString()],
    );
  }

  getResource(path: string): Promise<Buffer | undefined> {
    return this.guard(`cannot read resource ${path}`, async () => {
      const row = await this.one('SELECT sealed FROM resources WHERE path = $1', [path]);
      return row ? unseal(this.key, `resource:${path}`, row.sealed) : undefined;
    });
  }

  listResources(): Promise<ResourceInfo[]> {
    return this.guard('cannot list resources', async () =>
      (await this.pool.query('SELECT path, size, updated_at FROM resources ORDER BY path')).rows.map((r) => ({
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
      async (c) => ((await c.query('DELETE FROM resources WHERE path = $1', [path])).rowCount ?? 0) > 0,
      (existed) => existed,
    );
  }

  getPolicy(name: string): Promise<string | undefined> {
    return this.guard(
      `cannot read policy ${name}`,
      async () => (await this.one('SELECT text FROM policies WHERE name = $1', [name]))?.text,
    );
  }

  setPolicy(name: string, text: string, audit?: AuditInput): Promise<void> {
    return this.audited(`cannot store policy ${name}`, audit, async (c) => {
      await c.query(
        'INSERT INTO policies (name, text, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET text = EXCLUDED.text, updated_at = EXCLUDED.updated_at',
        [name, text, new Date().toISOString()],
      );
    });
  }

  putReferenceValue(name: string, value: unknown, audit?: AuditInput): Promise<void> {
    return this.audited(`cannot store reference value ${name}`, audit, async (c) => {
      await c.query(
        'INSERT INTO reference_values (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value',
        [name, JSON.stringify(value)],
      );
    });
  }

  getReferenceValue(name: string): Promise<unknown | undefined> {
    return this.guard(`cannot read reference value ${name}`, async () => {
      const row = await this.one('SELECT value FROM reference_values WHERE name = $1', [name]);
      return row ? JSON.parse(row.value) : undefined;
    });
  }

  listReferenceValues(): Promise<{ name: string; value: unknown }[]> {
    return this.guard('cannot list reference values', async () =>
      (await this.pool.query('SELECT name, value FROM reference_values ORDER BY name')).rows.map((r) => ({
        name: r.name,
        value: JSON.parse(r.value),
      })),
    );
  }

  deleteReferenceValue(name: string, audit?: AuditInput): Promise<boolean> {
    return this.audited(
      `cannot delete reference value ${name}`,
      audit,
      async (c) => ((await c.query('DELETE FROM reference_values WHERE name = $1', [name])).rowCount ?? 0) > 0,
      (existed) => existed,
    );
  }

  getSecretMeta(key: string): Promise<Buffer | undefined> {
    return this.guard(`cannot read server secret ${key}`, async () => {
      const row = await this.one('SELECT sealed FROM secret_meta WHERE key = $1', [key]);
      return row ? unseal(this.key, `meta:${key}`, row.sealed) : undefined;
    });
  }

  setSecretMeta(key: string, value: Buffer): Promise<void> {
    // First writer wins: replicas racing to create the same key agree on one value.
    return this.guard(`cannot store server secret ${key}`, async () => {
      await this.pool.query('INSERT INTO secret_meta (key, sealed) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [
        key,
        seal(this.key, `meta:${key}`, value),
      ]);
    });
  }

  createSession(s: SessionRecord): Promise<void> {
    return this.guard(`cannot create session ${s?.id}`, async () => {
      const { sealed, expiresAt } = sealSession(this.key, s);
      await this.pool.query('INSERT INTO sessions (id, sealed, expires_at) VALUES ($1, $2, $3)', [
        s.id,
        sealed,
        expiresAt,
      ]);
    });
  }

  getSession(id: string): Promise<SessionRecord | undefined> {
    return this.guard(`cannot read session ${id}`, async () => {
      const row = await this.one('SELECT sealed FROM sessions WHERE id = $1', [id]);
      return row ? unsealSession(this.key, id, row.sealed) : undefined;
    });
  }

  updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void> {
    return this.guard(`cannot update session ${id}`, () =>
      this.tx(async (c) => {
        const current = await this.lockSession(c, id);
        if (current) await this.writeSession(c, patchSession(current, patch));
      }),
    );
  }

  /** The row lock (FOR UPDATE) makes racing attests on every replica take turns; the first one wins. */
  attestSession(
    id: string,
    result: AttestedSession,
    audit: AuditInput,
  ): Promise<{ won: boolean; session?: SessionRecord }> {
    return this.guard(`cannot record the attestation of session ${id}`, () =>
      this.tx(async (c) => {
        const current = await this.lockSession(c, id);
        if (!current || current.attested) return { won: false, session: current };
        const next = patchSession(current, { ...result, attested: true });
        await this.writeSession(c, next);
        await this.appendInTransaction(c, audit, new Date());
        return { won: true, session: next };
      }),
    );
  }

  abandonSession(id: string): Promise<boolean> {
    return this.guard(`cannot delete session ${id}`, () =>
      this.tx(async (c) => {
        const current = await this.lockSession(c, id);
        return (
          !!current &&
          !current.attested &&
          ((await c.query('DELETE FROM sessions WHERE id = $1', [id])).rowCount ?? 0) > 0
        );
      }),
    );
  }

  private async lockSession(c: pg.PoolClient, id: string): Promise<SessionRecord | undefined> {
    const row = (await c.query('SELECT sealed FROM sessions WHERE id = $1 FOR UPDATE', [id])).rows[0];
    return row ? unsealSession(this.key, id, row.sealed) : undefined;
  }

  private async writeSession(c: pg.PoolClient, s: SessionRecord): Promise<void> {
    const { sealed, expiresAt } = sealSession(this.key, s);
    await c.query('UPDATE sessions SET sealed = $1, expires_at = $2 WHERE id = $3', [sealed, expiresAt, s.id]);
  }

  deleteSession(id: string): Promise<void> {
    return this.guard(`cannot delete session ${id}`, async () => {
      await this.pool.query('DELETE FROM sessions WHERE id = $1', [id]);
    });
  }

  sweepSessions(now: Date): Promise<number> {
    return this.guard(
      'cannot sweep sessions',
      async () => (await this.pool.query('DELETE FROM sessions WHERE expires_at <= $1', [now.getTime()])).rowCount ?? 0,
    );
  }

  /** The advisory lock serialises appends from every replica: seq and prevHash are read and written as one step. */
  appendAudit(entry: AuditInput, now: Date = new Date()): Promise<AuditRecord> {
    return this.guard(`cannot append audit record ${entry?.kind}`, () =>
      this.tx((c) => this.appendInTransaction(c, entry, now)),
    );
  }

  private async appendInTransaction(c: pg.PoolClient, entry: AuditInput, now: Date): Promise<AuditRecord> {
    await c.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
    const last = (await c.query('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1')).rows[0];
    const record = makeAuditRecord(entry, Number(last?.seq ?? 0) + 1, last?.hash ?? GENESIS_HASH, now);
    await c.query('INSERT INTO audit (seq, time, kind, outcome, record, hash) VALUES ($1, $2, $3, $4, $5, $6)', [
      record.seq,
      record.time,
      record.kind,
      record.outcome,
      JSON.stringify(record),
      record.hash,
    ]);
    await c.query(
      'INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, mac = EXCLUDED.mac',
      [record.seq, record.hash, auditHeadMac(this.key, record.seq, record.hash)],
    );
    return record;
  }

  auditHead(): Promise<AuditHeadRecord | undefined> {
    return this.guard('cannot read the audit head', async () => {
      const row = (await this.pool.query('SELECT seq, hash, mac FROM audit_head WHERE id = 1')).rows[0];
      return row
        ? {
            seq: Number(row.seq),
            hash: row.hash,
            authentic: auditHeadMac(this.key, Number(row.seq), row.hash) === row.mac,
          }
        : undefined;
    });
  }

  queryAudit(q: AuditQuery): Promise<AuditRecord[]> {
    return this.guard('cannot query the audit log', async () => {
      checkAuditQuery(q);
      const where = ['seq > $1'];
      const args: unknown[] = [q.afterSeq ?? 0];
      if (q.kind) {
        args.push(q.kind);
        where.push(`kind = $${args.length}`);
      }
      if (q.outcome) {
        args.push(q.outcome);
        where.push(`outcome = $${args.length}`);
      }
      if (q.since) {
        args.push(q.since.toISOString());
        where.push(`time >= $${args.length}`);
      }
      args.push(auditLimit(q.limit));
      return (
        await this.pool.query(
          `SELECT record FROM audit WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $${args.length}`,
          args,
        )
      ).rows.map((r) => JSON.parse(r.record));
    });
  }

  putManifest(
    m: Omit<ManifestRecord, 'createdAt'>,
    opts: { generated?: Array<{ path: string; value: Buffer }>; audit?: AuditInput } = {},
  ): Promise<void> {
    return this.audited(`cannot store manifest version ${m?.version}`, opts.audit, async (c) => {
      try {
        await c.query(
          'INSERT INTO manifests (version, digest, text, signatures, created_at) VALUES ($1, $2, $3, $4, $5)',
          [m.version, m.digest, m.text, JSON.stringify(m.signatures), new Date().toISOString()],
        );
      } catch (e) {
        if ((e as { code?: string }).code === '23505')
          throw new CloakError('STORE_CONFLICT', `manifest version ${m.version} already exists`);
        throw e;
      }
      for (const g of opts.generated ?? []) await this.upsertResource(c, g.path, g.value, 'DO NOTHING');
    });
  }

  /** A new key takes an advisory lock while it checks the hour's cap, so replicas cannot overshoot it together. */
  countAudit(entry: CountInput, now: Date = new Date()): Promise<void> {
    return this.guard(`cannot count audit event ${entry?.kind}`, () =>
      this.tx(async (c) => {
        const k = countKey(entry, now);
        const bump = async (source: string) =>
          ((
            await c.query(
              'UPDATE audit_counts SET count = count + 1, first_time = LEAST(first_time, $1), last_time = GREATEST(last_time, $1), sample = $2 WHERE hour = $3 AND source = $4 AND kind = $5 AND outcome = $6 AND code = $7',
              [k.time, k.sample, k.hour, source, k.kind, k.outcome, k.code],
            )
          ).rowCount ?? 0) > 0;
        if (await bump(k.source)) return;
        await c.query('SELECT pg_advisory_xact_lock($1)', [COUNT_KEYS_LOCK]);
        const keys = Number(
          (await c.query('SELECT COUNT(*) AS n FROM audit_counts WHERE hour = $1', [k.hour])).rows[0].n,
        );
        const source = keys < MAX_COUNT_KEYS_PER_HOUR ? k.source : OVERFLOW_SOURCE;
        await c.query(
          `INSERT INTO audit_counts (hour, source, kind, outcome, code, count, first_time, last_time, sample) VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7)
        ON CONFLICT (hour, source, kind, outcome, code) DO UPDATE SET count = audit_counts.count + 1, first_time = LEAST(audit_counts.first_time, EXCLUDED.first_time), last_time = GREATEST(audit_counts.last_time, EXCLUDED.last_time), sample = EXCLUDED.sample`,
          [k.hour, source, k.kind, k.outcome, k.code, k.time, k.sample],
        );
      }),
    );
  }

  queryAuditCounts(q: AuditCountQuery): Promise<AuditCount[]> {
    return this.guard('cannot query the audit counts', async () => {
      const { sql, args } = countQuerySql(q, (n) => `$${n}`);
      return (await this.pool.query(sql, args)).rows.map(countFromRow);
    });
  }

  pruneAuditCounts(before: Date): Promise<number> {
    return this.guard(
      'cannot prune the audit counts',
      async () =>
        (await this.pool.query('DELETE FROM audit_counts WHERE hour <= $1', [lastPrunableHour(before)])).rowCount ?? 0,
    );
  }

  getManifest(version?: number): Promise<ManifestRecord | undefined> {
    return this.guard('cannot read the manifest', async () => {
      const row =
        version === undefined
          ? await this.one('SELECT * FROM manifests ORDER BY version DESC LIMIT 1', [])
          : await this.one('SELECT * FROM manifests WHERE version = $1', [version]);
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
    return this.guard('cannot list manifests', async () =>
      (await this.pool.query('SELECT version, digest, created_at FROM manifests ORDER BY version')).rows.map((r) => ({
        version: r.version,
        digest: r.digest,
        createdAt: r.created_at,
      })),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch(() => {});
  }
}
