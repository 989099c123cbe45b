export { tdxClaims, tdIsDebug, tdxVerifier } from './verifier.ts';
