export { KBS_PROTOCOL_VERSION, SESSION_COOKIE, SESSION_TTL_MS, TOKEN_TTL_S, KBS_ERROR_PREFIX } from './protocol.ts';
export { AuthRequest, AuthReply, TeePubkey, AttestRequest, AttestReply, Problem } from './schemas.ts';
export { wrapAlgorithm, checkTeePubkey, encryptToTee, teeKeyPair, decryptFromKbs, type FlattenedJwe } from './jwe.ts';
export { TokenIssuer } from './token.ts';
export { parseInitData, type InitData } from './initdata.ts';
export { earClaims, readEar, EAR_PROFILE, VERIFIER_ID, type EarView } from './ear.ts';
export { type BrokerOptions, type Source, type Credential, KeyBroker } from './broker.ts';
export { type PolicyKind, POLICY_KINDS, MAX_RESOURCE_BYTES, Admin } from './admin.ts';
export { toProblem, type ProblemBody } from './problem.ts';
export {
  parseManifest,
  countApprovals,
  checkUpdate,
  type Manifest,
  type WorkloadEntry,
  type ManifestSignature,
} from './manifest.ts';
export { releaseByManifest } from './manifest-release.ts';
export { KBS_ERRORS } from './errors.ts';
export { workloadNamed, launchPinsOf, launchOf, launchFails } from './launch-pins.ts';
