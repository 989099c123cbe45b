/**
 * Safe defaults: insecure TEEs refused; debug refused (hardware TEEs) or
 * contraindicated (sim); TCB statuses other than UpToDate/SWHardeningNeeded refused; measurements
 * checked against reference values when any are recorded; resources only
 * for affirming results.
 */
export const DEFAULT_ATTESTATION_POLICY = `# Cloak attestation policy
version: 1
# Insecure TEEs admitted by name (sim, sample): they prove nothing, keep
# the list empty outside development ([sim] for cloak run).
allowInsecure: []
# Refused of every TEE alike: a debuggable guest (the host can read its
# memory), and a vendor TCB status (Intel's tcb_status) not listed here.
allowDebug: false
acceptedTcbStatuses: [UpToDate, SWHardeningNeeded]
# AR4SI claim -> CEL over tee, insecure, claims, init_data, refs.
# 2..31 affirming, 32..95 warning, 96..127 contraindicated, 0 no claim.
trustVector:
  hardware: "2"
  configuration: 'has(claims.debug) && claims.debug == true ? 96 : 2'
  executables: >-
    !has(refs.measurements) || size(refs.measurements) == 0 ? 0 :
    (has(claims.measurement) && claims.measurement in refs.measurements ? 2 : 33)
`;

export const DEFAULT_RESOURCE_POLICY = 'status == "affirming"';

/** For local development with `cloak run`: admits the simulated TEE, and only it (not `sample`). */
export const INSECURE_DEV_ATTESTATION_POLICY = DEFAULT_ATTESTATION_POLICY.replace('allowInsecure: []', 'allowInsecure: [sim]');
