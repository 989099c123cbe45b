import { CloakError } from '../lib/index.ts';

export interface AuditQuery {
  afterSeq?: number;
  kind?: string;
  outcome?: string;
  since?: Date;
  limit?: number;
}

export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 10_000;

/** The page size actually used: default 100, clamped to 1..10000. */
export function auditLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_AUDIT_LIMIT;
  if (!Number.isFinite(limit)) throw new CloakError('STORE_QUERY_INVALID', 'the audit limit must be a number');
  return Math.max(1, Math.min(Math.floor(limit), MAX_AUDIT_LIMIT));
}

/** Rejects values that would make a query fail inside the driver. */
export function checkAuditQuery(q: AuditQuery): void {
  if (q.afterSeq !== undefined && !Number.isSafeInteger(q.afterSeq))
    throw new CloakError('STORE_QUERY_INVALID', 'afterSeq must be an integer');
  if (q.since !== undefined && !(q.since instanceof Date && Number.isFinite(q.since.getTime())))
    throw new CloakError('STORE_QUERY_INVALID', 'since must be a valid date');
}
