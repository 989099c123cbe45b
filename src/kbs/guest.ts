/**
 * The KBS protocol as the guest side speaks it: constants, message types,
 * the TEE key and the JWE a resource arrives in, and the init-data digest.
 * src/agent imports this, never index.ts, which carries the broker (its
 * CEL policies, the store and every verifier) into the agent's bundle.
 */
export { KBS_PROTOCOL_VERSION, SESSION_COOKIE } from './protocol.ts';
export type { AuthRequest, AuthReply, AttestRequest, AttestReply, TeePubkey } from './schemas.ts';
export { teeKeyPair, decryptFromKbs, type FlattenedJwe } from './jwe.ts';
export { parseInitData, type InitData } from './initdata.ts';
