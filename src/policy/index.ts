export { tierOf, statusOf, TRUST_CLAIMS, type TrustClaim, type TrustVector, type EarStatus } from './ar4si.ts';
export { compileCel, runCel, type CelProgram } from './cel.ts';
export {
  parseAttestationPolicy,
  appraise,
  INSECURE_TEES,
  DEFAULT_ACCEPTED_TCB_STATUSES,
  type AttestationPolicy,
  type AppraisalInput,
  type Appraisal,
} from './attestation.ts';
export { parseResourcePolicy, allowsRelease, type ResourcePolicy, type ResourceInput } from './resource.ts';
export { DEFAULT_ATTESTATION_POLICY, DEFAULT_RESOURCE_POLICY, INSECURE_DEV_ATTESTATION_POLICY } from './defaults.ts';
export { POLICY_ERRORS } from './errors.ts';
export { checkLaunch, type LaunchPins, type LaunchCheck, NO_LAUNCH_PINS } from './launch.ts';
