export { sampleVerifier } from './verifier.ts';
