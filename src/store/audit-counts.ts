import { CloakError } from '../lib/index.ts';
import type { AuditCount, AuditCountQuery, CountInput } from './types.ts';
import { auditLimit } from './query.ts';

/** Distinct (source, kind, outcome, code) keys one hour may hold; a further source is counted as OVERFLOW_SOURCE. */
export const MAX_COUNT_KEYS_PER_HOUR = 200;
export const OVERFLOW_SOURCE = '*';
const HOUR_MS = 3_600_000;

/** The row a counted event adds to: its hour and its bounded fields. */
export function countKey(
  entry: CountInput,
  now: Date,
): { hour: string; time: string; source: string; kind: string; outcome: string; code: string; sample: string | null } {
  if (typeof entry?.kind !== 'string' || !entry.kind || typeof entry.code !== 'string' || !entry.code) {
    throw new CloakError('STORE_AUDIT_INVALID', 'a counted audit event needs a kind and a code');
  }
  if (!['ok', 'refused', 'error'].includes(entry.outcome))
    throw new CloakError(
      'STORE_AUDIT_INVALID',
      `audit outcome must be ok, refused or error, not ${String(entry.outcome)}`,
    );
  if (!(now instanceof Date) || !Number.isFinite(now.getTime()))
    throw new CloakError('STORE_AUDIT_INVALID', 'a counted audit event needs a valid time');
  return {
    hour: hourOf(now),
    time: now.toISOString(),
    source: String(entry.source || 'unknown').slice(0, 64),
    kind: entry.kind.slice(0, 64),
    outcome: entry.outcome,
    code: entry.code.slice(0, 64),
    sample: entry.sample === undefined ? null : String(entry.sample).slice(0, 300),
  };
}

/** The start of the hour holding `t`, as ISO 8601. */
export function hourOf(t: Date): string {
  return new Date(Math.floor(t.getTime() / HOUR_MS) * HOUR_MS).toISOString();
}

/** Hours that ended before `before` may go: their start is at most `before` - 1 h. */
export function lastPrunableHour(before: Date): string {
  if (!(before instanceof Date) || !Number.isFinite(before.getTime()))
    throw new CloakError('STORE_QUERY_INVALID', 'the pruning horizon must be a valid date');
  return new Date(before.getTime() - HOUR_MS).toISOString();
}

export function checkCountQuery(q: AuditCountQuery): { limit: number; since?: string } {
  if (q.since !== undefined && !(q.since instanceof Date && Number.isFinite(q.since.getTime())))
    throw new CloakError('STORE_QUERY_INVALID', 'since must be a valid date');
  // An hour overlaps `since` when it ends after it.
  return { limit: auditLimit(q.limit), since: q.since ? hourOf(q.since) : undefined };
}

export function countFromRow(r: Record<string, any>): AuditCount {
  const c: AuditCount = {
    hour: r.hour,
    source: r.source,
    kind: r.kind,
    outcome: r.outcome,
    code: r.code,
    count: Number(r.count),
    firstTime: r.first_time,
    lastTime: r.last_time,
  };
  if (r.sample !== null && r.sample !== undefined) c.sample = r.sample;
  return c;
}

/** The WHERE clause and arguments of a count query; `ph(n)` is the backend's n-th placeholder (1-based). */
export function countQuerySql(q: AuditCountQuery, ph: (n: number) => string): { sql: string; args: unknown[] } {
  const { limit, since } = checkCountQuery(q);
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (column: string, op: string, value: unknown) => {
    args.push(value);
    where.push(`${column} ${op} ${ph(args.length)}`);
  };
  if (since) add('hour', '>=', since);
  if (q.kind) add('kind', '=', q.kind);
  if (q.outcome) add('outcome', '=', q.outcome);
  if (q.source) add('source', '=', q.source);
  args.push(limit);
  return {
    sql: `SELECT * FROM audit_counts${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY hour DESC, count DESC, source, kind, code LIMIT ${ph(args.length)}`,
    args,
  };
}
