import { createHash, createHmac } from 'node:crypto';
import { canonicalJson, CloakError } from '../lib/index.ts';
import type { AuditInput, AuditRecord } from './types.ts';

export const GENESIS_HASH = '0'.repeat(64);

const OPTIONAL = ['actor', 'subject', 'reason', 'details'] as const;

/** The hash of one record: SHA-256 hex of canonicalJson({seq, time, prevHash, kind, outcome, actor?, subject?, reason?, details?}). */
export function auditHash(r: Omit<AuditRecord, 'hash'>): string {
  const body: Record<string, unknown> = {
    seq: r.seq,
    time: r.time,
    prevHash: r.prevHash,
    kind: r.kind,
    outcome: r.outcome,
  };
  for (const k of OPTIONAL) if (r[k] !== undefined && r[k] !== null) body[k] = r[k];
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/**
 * Builds the next record. Only the interface's fields are kept, and `details`
 * goes through JSON first, so what is hashed is exactly what is stored and
 * what a client reads back (an extra field or a Date would otherwise be
 * stored unhashed or hashed differently from its JSON form).
 */
export function makeAuditRecord(entry: AuditInput, seq: number, prevHash: string, now: Date): AuditRecord {
  if (typeof entry?.kind !== 'string' || !entry.kind)
    throw new CloakError('STORE_AUDIT_INVALID', 'an audit record needs a kind');
  if (!['ok', 'refused', 'error'].includes(entry.outcome))
    throw new CloakError(
      'STORE_AUDIT_INVALID',
      `audit outcome must be ok, refused or error, not ${String(entry.outcome)}`,
    );
  const r: Omit<AuditRecord, 'hash'> = {
    seq,
    time: now.toISOString(),
    prevHash,
    kind: entry.kind,
    outcome: entry.outcome,
  };
  if (entry.actor !== undefined) r.actor = String(entry.actor);
  if (entry.subject !== undefined) r.subject = String(entry.subject);
  if (entry.reason !== undefined) r.reason = String(entry.reason);
  if (entry.details !== undefined) {
    let details: unknown;
    try {
      details = JSON.parse(JSON.stringify(entry.details));
    } catch (e) {
      throw new CloakError('STORE_AUDIT_INVALID', `audit details are not JSON: ${(e as Error).message}`, { cause: e });
    }
    if (details === null || typeof details !== 'object' || Array.isArray(details))
      throw new CloakError('STORE_AUDIT_INVALID', 'audit details must be a JSON object');
    r.details = details as Record<string, unknown>;
  }
  return { ...r, hash: auditHash(r) };
}

export type AuditChainResult = { ok: true } | { ok: false; seq: number; reason: string };

/**
 * Checks a log in ascending order: detects edited, removed (a gap) or
 * reordered records. By default the log must start at seq 1; pass `after`
 * (the last record already verified) to check a later page on its own.
 * Removing records from the very end cannot be seen from the chain alone:
 * compare the head (last seq and hash) with one kept elsewhere.
 */
export function verifyAuditChain(
  records: AuditRecord[],
  opts: { after?: { seq: number; hash: string } } = {},
): AuditChainResult {
  let prev = opts.after?.hash ?? GENESIS_HASH;
  const first = (opts.after?.seq ?? 0) + 1;
  if (!Array.isArray(records)) return { ok: false, seq: first, reason: 'the audit log is not a list of records' };
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as AuditRecord | null | undefined;
    const expected = first + i;
    if (r === null || typeof r !== 'object') return { ok: false, seq: expected, reason: 'it is not a record' };
    if (r.seq !== expected) {
      return r.seq > expected || typeof r.seq !== 'number'
        ? { ok: false, seq: expected, reason: `record ${expected} is missing (found ${String(r.seq)} in its place)` }
        : { ok: false, seq: expected, reason: `records are out of order (found ${r.seq} where ${expected} belongs)` };
    }
    if (r.prevHash !== prev)
      return { ok: false, seq: r.seq, reason: 'its previous-hash does not match the record before it' };
    let hash: string;
    try {
      hash = auditHash(r);
    } catch {
      return { ok: false, seq: r.seq, reason: 'its content cannot be hashed (malformed, edited)' };
    }
    if (hash !== r.hash) return { ok: false, seq: r.seq, reason: 'its content does not match its hash (edited)' };
    prev = r.hash;
  }
  return { ok: true };
}

/** MAC over the audit head, keyed from the sealing key (the database alone cannot forge it). */
export function auditHeadMac(sealingKey: Buffer, seq: number, hash: string): string {
  const macKey = createHmac('sha256', sealingKey).update('cloak audit head v1').digest();
  return createHmac('sha256', macKey).update(`${seq}:${hash}`).digest('hex');
}

export interface AuditHead {
  seq: number;
  hash: string;
  authentic: boolean;
}
