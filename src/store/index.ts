export { type SessionRecord, type AuditInput, type AuditRecord, type ResourceInfo, type ManifestRecord, type AuditHeadRecord, type AttestedSession, type CountInput, type AuditCount, type AuditCountQuery, type Store } from './types.ts';
export { openStore } from './open.ts';
export { loadOrCreateSealingKey, seal, unseal, SEALING_KEY_LENGTH } from './sealing.ts';
export { verifyAuditChain, auditHash, GENESIS_HASH, type AuditChainResult } from './audit-chain.ts';
export { SCHEMA_VERSION } from './schema.ts';
export type { AuditQuery } from './query.ts';
export { MAX_COUNT_KEYS_PER_HOUR, OVERFLOW_SOURCE } from './audit-counts.ts';
export { STORE_ERRORS } from './errors.ts';
