import { createHash } from 'node:crypto';
import { canonicalJson } from '../lib/index.ts';
import type { AuditInput, AuditRecord } from './types.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** The hash of one record: SHA-256 over the canonical JSON of its fields and the previous hash. */
export function auditHash(r: Omit<AuditRecord, 'hash'>): string {
  const body: Record<string, unknown> = { seq: r.seq, time: r.time, prevHash: r.prevHash, kind: r.kind, outcome: r.outcome };
  for (const k of ['actor', 'subject', 'reason', 'details'] as const) if (r[k] !== undefined && r[k] !== null) body[k] = r[k];
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export function makeAuditRecord(entry: AuditInput, seq: number, prevHash: string, now: Date): AuditRecord {
  const r = { ...stripUndefined(entry), seq, time: now.toISOString(), prevHash };
  return { ...r, hash: auditHash(r) };
}

/** Checks a complete log from seq 1: detects edited, removed or reordered records. */
export function verifyAuditChain(records: AuditRecord[]): { ok: true } | { ok: false; seq: number; reason: string } {
  let prev = GENESIS_HASH;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.seq !== i + 1) return { ok: false, seq: i + 1, reason: `record ${i + 1} is missing (found ${r.seq} in its place)` };
    if (r.prevHash !== prev) return { ok: false, seq: r.seq, reason: 'its previous-hash does not match the record before it' };
    if (auditHash(r) !== r.hash) return { ok: false, seq: r.seq, reason: 'its content does not match its hash (edited)' };
    prev = r.hash;
  }
  return { ok: true };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
