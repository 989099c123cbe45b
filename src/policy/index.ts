export * from './ar4si.ts';
export * from './cel.ts';
export * from './attestation.ts';
export * from './resource.ts';
export * from './defaults.ts';
export { POLICY_ERRORS } from './errors.ts';
