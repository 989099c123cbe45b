export * from './report.ts';
export * from './keys.ts';
export * from './attester.ts';
export { simVerifier, type SimTrust } from './verifier.ts';
