import type { AuditQuery } from './query.ts';

/** The persistence contract; every failure is a CloakError with a STORE_* code. */
export interface SessionRecord {
  id: string;
  tee: string;
  nonce: string;
  createdAt: Date;
  expiresAt: Date;
  attested: boolean;
  token?: string;
  teePubkey?: unknown;
  claims?: unknown;
}
export interface AuditInput {
  kind: string;
  outcome: 'ok' | 'refused' | 'error';
  actor?: string;
  subject?: string;
  reason?: string;
  details?: Record<string, unknown>;
}
export interface AuditRecord extends AuditInput {
  seq: number;
  time: string;
  prevHash: string;
  hash: string;
}
export interface ResourceInfo {
  path: string;
  size: number;
  updatedAt: string;
}
export interface ManifestRecord {
  version: number;
  digest: string;
  text: string;
  signatures: unknown;
  createdAt: string;
}
export interface AuditHeadRecord {
  seq: number;
  hash: string;
  authentic: boolean;
}
/** What an attest that won its session stores with it. */
export interface AttestedSession {
  token: string;
  teePubkey?: unknown;
  claims?: unknown;
}
/** A counted event (a refusal, a challenge issued): counted per hour, source, kind, outcome and code, outside the hash chain. */
export interface CountInput {
  kind: string;
  outcome: 'ok' | 'refused' | 'error';
  source: string;
  code: string;
  sample?: string;
}
export interface AuditCount {
  hour: string;
  source: string;
  kind: string;
  outcome: string;
  code: string;
  count: number;
  firstTime: string;
  lastTime: string;
  sample?: string;
}
export interface AuditCountQuery {
  since?: Date;
  kind?: string;
  outcome?: string;
  source?: string;
  limit?: number;
}
export interface Store {
  /**
   * path 'repo/type/tag'; the value is sealed (AES-256-GCM, AAD `resource:<path>`).
   * Every mutation takes an optional audit record: the change and its record commit in one transaction, or neither does.
   */
  putResource(path: string, value: Buffer, audit?: AuditInput): Promise<void>;
  getResource(path: string): Promise<Buffer | undefined>;
  /** Never values. */
  listResources(): Promise<ResourceInfo[]>;
  /** The audit record is written only when the resource existed. */
  deleteResource(path: string, audit?: AuditInput): Promise<boolean>;
  getPolicy(name: string): Promise<string | undefined>;
  setPolicy(name: string, text: string, audit?: AuditInput): Promise<void>;
  putReferenceValue(name: string, value: unknown, audit?: AuditInput): Promise<void>;
  getReferenceValue(name: string): Promise<unknown | undefined>;
  listReferenceValues(): Promise<{ name: string; value: unknown }[]>;
  /** The audit record is written only when the value existed. */
  deleteReferenceValue(name: string, audit?: AuditInput): Promise<boolean>;
  getSecretMeta(key: string): Promise<Buffer | undefined>;
  /** Sealed server state (e.g. the token signing key). First writer wins: a second set of the same key is ignored, so racing replicas agree (re-read after setting). */
  setSecretMeta(key: string, value: Buffer): Promise<void>;
  createSession(s: SessionRecord): Promise<void>;
  /** Returns the record even when expired (the caller checks expiresAt); sweepSessions removes expired ones. Sessions are sealed. Duplicate ids throw STORE_CONFLICT. */
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** No-op for an unknown id. */
  updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void>;
  /**
   * The first attest of a session wins, atomically across replicas: when the session exists and has not attested,
   * marks it attested with `result` and appends `audit` in one transaction (`won: true`). Otherwise changes nothing and
   * returns the session as it is (`won: false`; `session` undefined when it no longer exists).
   */
  attestSession(
    id: string,
    result: AttestedSession,
    audit: AuditInput,
  ): Promise<{ won: boolean; session?: SessionRecord }>;
  deleteSession(id: string): Promise<void>;
  /** Deletes the session unless it has attested (a failed attempt burns a fresh session, never a racing winner's); true if deleted. */
  abandonSession(id: string): Promise<boolean>;
  /** Deletes sessions with expiresAt <= now; returns how many. */
  sweepSessions(now: Date): Promise<number>;
  /** The newest audit record's seq and hash as last written, and whether its MAC (under the sealing key) holds. */
  auditHead(): Promise<AuditHeadRecord | undefined>;
  /** Atomic across replicas: seq = last+1, prevHash = last hash (64 zeros first), hash = sha256 hex of canonicalJson({seq,time,prevHash,...entry}). */
  appendAudit(entry: AuditInput, now?: Date): Promise<AuditRecord>;
  /** Ascending seq; limit defaults to 100, at most 10000. */
  queryAudit(q: AuditQuery): Promise<AuditRecord[]>;
  /**
   * Adds one to the count of (hour of `now`, source, kind, outcome, code). Bounded: an hour holds at most
   * MAX_COUNT_KEYS_PER_HOUR keys; further sources are counted under source "*". Not part of the hash chain.
   */
  countAudit(entry: CountInput, now?: Date): Promise<void>;
  /** Newest hour first, then the largest count; limit defaults to 100, at most 10000. */
  queryAuditCounts(q: AuditCountQuery): Promise<AuditCount[]>;
  /** Deletes counts of hours that ended before `before`; returns how many rows. */
  pruneAuditCounts(before: Date): Promise<number>;
  /**
   * Inserts the next manifest version; throws STORE_CONFLICT if that version exists (a racing update). In the same
   * transaction: the `generated` resources are inserted where none exists yet, and `audit` is appended.
   */
  putManifest(
    m: Omit<ManifestRecord, 'createdAt'>,
    opts?: { generated?: Array<{ path: string; value: Buffer }>; audit?: AuditInput },
  ): Promise<void>;
  /** The given version, or the latest when none is given. */
  getManifest(version?: number): Promise<ManifestRecord | undefined>;
  listManifests(): Promise<Array<{ version: number; digest: string; createdAt: string }>>;
  close(): Promise<void>;
}
