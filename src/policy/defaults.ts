/**
 * Safe defaults: insecure TEEs refused; debug refused (hardware TEEs) or
 * contraindicated (sim); TCB statuses other than UpToDate/SWHardeningNeeded
 * refused; no affirming result for hardware evidence whose launch
 * measurement is not pinned (`refs.launch`, computed by the key broker from
 * the workload's manifest reference values and the recorded ones:
 * launch.ts); resources only for affirming results. Without `refs.launch`
 * (a caller that does not compute it) the measurement is checked against
 * recorded reference values when there are any.
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
  # The launch measurement (firmware, kernel, initrd) must be pinned for the
  # workload: hardware evidence without a pin is a warning, never affirming.
  executables: >-
    has(refs.launch) ?
    (refs.launch.pinned ? 2 : (refs.launch.required || refs.launch.listed ? 33 : 0)) :
    (!has(refs.measurements) || size(refs.measurements) == 0 ? 0 :
    (has(claims.measurement) && claims.measurement in refs.measurements ? 2 : 33))
`;

export const DEFAULT_RESOURCE_POLICY = 'status == "affirming"';

/** For local development with `cloak run`: admits the simulated TEE, and only it (not `sample`). */
export const INSECURE_DEV_ATTESTATION_POLICY = DEFAULT_ATTESTATION_POLICY.replace(
  'allowInsecure: []',
  'allowInsecure: [sim]',
);
