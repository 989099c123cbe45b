export {
  type SessionRecord,
  type AuditInput,
  type AuditRecord,
  type ResourceInfo,
  type ManifestRecord,
  type AuditHeadRecord,
  type AttestedSession,
  type CountInput,
  type AuditCount,
  type AuditCountQuery,
  type Store,
} from './types.ts';
export { openStore } from './open.ts';
export { seal, unseal, loadOrCreateSealingKey, SEALING_KEY_LENGTH } from './sealing.ts';
export {
  auditHash,
  makeAuditRecord,
  verifyAuditChain,
  auditHeadMac,
  GENESIS_HASH,
  type AuditChainResult,
  type AuditHead,
} from './audit-chain.ts';
export { MIGRATIONS, SCHEMA_VERSION } from './schema.ts';
export type { AuditQuery } from './query.ts';
export {
  countKey,
  hourOf,
  lastPrunableHour,
  checkCountQuery,
  countFromRow,
  countQuerySql,
  MAX_COUNT_KEYS_PER_HOUR,
  OVERFLOW_SOURCE,
} from './audit-counts.ts';
export { STORE_ERRORS } from './errors.ts';
