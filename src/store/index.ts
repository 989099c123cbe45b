export * from './types.ts';
export { openStore } from './open.ts';
export { loadOrCreateSealingKey, seal, unseal } from './sealing.ts';
export { verifyAuditChain, auditHash, GENESIS_HASH } from './audit-chain.ts';
