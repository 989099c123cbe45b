export { sgxClaims, enclaveIsDebug, sgxVerifier } from './verifier.ts';
