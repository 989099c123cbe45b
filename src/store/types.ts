/** The persistence contract; every failure is a CloakError with a STORE_* code. */
export interface SessionRecord { id: string; tee: string; nonce: string; createdAt: Date; expiresAt: Date; attested: boolean; token?: string; teePubkey?: unknown; claims?: unknown; }
export interface AuditInput { kind: string; outcome: 'ok' | 'refused' | 'error'; actor?: string; subject?: string; reason?: string; details?: Record<string, unknown>; }
export interface AuditRecord extends AuditInput { seq: number; time: string; prevHash: string; hash: string; }
export interface ResourceInfo { path: string; size: number; updatedAt: string; }
export interface ManifestRecord { version: number; digest: string; text: string; signatures: unknown; createdAt: string; }
export interface AuditHeadRecord { seq: number; hash: string; authentic: boolean }
export interface Store {
  /** path 'repo/type/tag'; the value is sealed (AES-256-GCM, AAD `resource:<path>`). */
  putResource(path: string, value: Buffer): Promise<void>;
  getResource(path: string): Promise<Buffer | undefined>;
  /** Never values. */
  listResources(): Promise<ResourceInfo[]>;
  deleteResource(path: string): Promise<boolean>;
  getPolicy(name: string): Promise<string | undefined>;
  setPolicy(name: string, text: string): Promise<void>;
  putReferenceValue(name: string, value: unknown): Promise<void>;
  getReferenceValue(name: string): Promise<unknown | undefined>;
  listReferenceValues(): Promise<{ name: string; value: unknown }[]>;
  deleteReferenceValue(name: string): Promise<boolean>;
  getSecretMeta(key: string): Promise<Buffer | undefined>;
  /** Sealed server state (e.g. the token signing key). First writer wins: a second set of the same key is ignored, so racing replicas agree (re-read after setting). */
  setSecretMeta(key: string, value: Buffer): Promise<void>;
  createSession(s: SessionRecord): Promise<void>;
  /** Returns the record even when expired (the caller checks expiresAt); sweepSessions removes expired ones. Sessions are sealed. Duplicate ids throw STORE_CONFLICT. */
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** No-op for an unknown id. */
  updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void>;
  deleteSession(id: string): Promise<void>;
  /** Deletes sessions with expiresAt <= now; returns how many. */
  sweepSessions(now: Date): Promise<number>;
  /** The newest audit record's seq and hash as last written, and whether its MAC (under the sealing key) holds. */
  auditHead(): Promise<AuditHeadRecord | undefined>;
  /** Atomic across replicas: seq = last+1, prevHash = last hash (64 zeros first), hash = sha256 hex of canonicalJson({seq,time,prevHash,...entry}). */
  appendAudit(entry: AuditInput, now?: Date): Promise<AuditRecord>;
  /** Ascending seq; limit defaults to 100, at most 10000. */
  queryAudit(q: { afterSeq?: number; kind?: string; outcome?: string; since?: Date; limit?: number }): Promise<AuditRecord[]>;
  /** Inserts the next manifest version; throws STORE_CONFLICT if that version exists (a racing update). */
  putManifest(m: Omit<ManifestRecord, 'createdAt'>): Promise<void>;
  /** The given version, or the latest when none is given. */
  getManifest(version?: number): Promise<ManifestRecord | undefined>;
  listManifests(): Promise<Array<{ version: number; digest: string; createdAt: string }>>;
  close(): Promise<void>;
}
