/*
 * Launch measurement pinning. HOST_DATA, MRCONFIGID and PCR 8 (the init-data
 * digest, with the Kata agent policy in it) are chosen by the host: they only
 * mean something if the guest that enforces that policy is the expected one.
 * What booted (firmware, kernel, initrd, command line) is the launch
 * measurement; the manifest pins it per workload and this decides whether
 * verified claims match a pin.
 */

/** A workload's launch reference values (lower-case hex), as the manifest lists them. */
export interface LaunchPins {
  /** The common `measurement` claim: SNP MEASUREMENT, TDX MRTD, SGX MRENCLAVE, the simulated TEE's. */
  measurements: string[];
  snp: Array<{ measurement: string }>;
  tdx: Array<{ mr_td: string; rtmr0?: string; rtmr1: string; rtmr2: string; rtmr3?: string }>;
  /** vTPM (and TPM) PCRs of the SHA-256 bank by index. */
  vtpm: Array<{ pcrs: Record<string, string> }>;
}

type Kind = keyof LaunchPins;

/**
 * Per TEE: the kinds of reference value that pin its launch (one of them must
 * be listed), and the kinds also checked when listed. On Azure CVMs the SNP
 * MEASUREMENT / TDX MRTD measure Microsoft's paravisor, not the guest: its
 * kernel and initrd are in the vTPM PCRs.
 */
const KINDS: Record<string, { pin: Kind[]; also: Kind[] }> = {
  snp: { pin: ['snp', 'measurements'], also: [] },
  tdx: { pin: ['tdx', 'measurements'], also: [] },
  sgx: { pin: ['measurements'], also: [] },
  'az-snp-vtpm': { pin: ['vtpm'], also: ['snp', 'measurements'] },
  'az-tdx-vtpm': { pin: ['vtpm'], also: ['tdx', 'measurements'] },
  tpm: { pin: ['vtpm'], also: [] },
  sim: { pin: ['measurements'], also: [] },
};

/** A bare TPM's trust is its enrolled attestation key; PCRs there are the operator's choice, not required. */
const NOT_REQUIRED = new Set(['tpm']);

export interface LaunchCheck {
  /** Hardware evidence whose launch must be pinned for an affirming result. */
  required: boolean;
  /** Some reference value applying to this TEE is listed. */
  listed: boolean;
  /** Every listed kind matched, and at least one pinning kind is listed. */
  pinned: boolean;
  /** Why it is not pinned, with the values this evidence holds ('' when pinned or nothing is asked). */
  reason: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v.toLowerCase() : undefined);

/** PCR `i` from the claims: Azure evidence nests them under `tpm`, a bare TPM has them at the top. */
function pcr(claims: Record<string, unknown>, i: string): string | undefined {
  const key = `pcr${i.padStart(2, '0')}`;
  const tpm = claims.tpm as Record<string, unknown> | undefined;
  return str(tpm?.[key]) ?? str(claims[key]);
}

const MATCH: { [K in Kind]: (claims: Record<string, unknown>, pins: LaunchPins[K]) => boolean } = {
  measurements: (c, list) => list.includes(str(c.measurement) ?? '\0'),
  snp: (c, list) => list.some((e) => e.measurement === str(c.measurement)),
  tdx: (c, list) => list.some((e) => Object.entries(e).every(([k, v]) => v === undefined || v === str(c[k]))),
  vtpm: (c, list) => list.some((e) => Object.entries(e.pcrs).every(([i, v]) => v === pcr(c, i))),
};

/** What this evidence holds, for the refusal: the values to pin. */
function held(kind: Kind, c: Record<string, unknown>): string {
  const short = (v: string | undefined) => v ?? '(none)';
  switch (kind) {
    case 'measurements':
    case 'snp':
      return `measurement ${short(str(c.measurement))}`;
    case 'tdx':
      return ['mr_td', 'rtmr0', 'rtmr1', 'rtmr2', 'rtmr3'].map((k) => `${k} ${short(str(c[k]))}`).join(', ');
    case 'vtpm':
      return ['3', '4', '7', '9', '11'].map((i) => `PCR ${i} ${short(pcr(c, i))}`).join(', ');
  }
}

const WHERE =
  'take the values from the release notes of your CoCo guest image, or measure your own peer-pod image build (README: "Launch measurement")';

/**
 * Checks verified claims against a workload's launch pins. Insecure TEEs and
 * a bare TPM need no pin; a listed pin must still match. `workload` names the
 * workload in the reason (undefined: the init-data names none, and only the
 * recorded reference values' measurements can pin).
 */
export function checkLaunch(
  tee: string,
  insecure: boolean,
  claims: Record<string, unknown>,
  pins: LaunchPins,
  workload?: string,
): LaunchCheck {
  const kinds = KINDS[tee] ?? { pin: [], also: [] };
  const required = !insecure && !NOT_REQUIRED.has(tee);
  const listedKinds = [...kinds.pin, ...kinds.also].filter((k) => pins[k].length > 0);
  const listed = listedKinds.length > 0;
  const field = (k: Kind) =>
    workload
      ? `workload "${workload}"'s referenceValues.${k}`
      : k === 'measurements'
        ? 'the recorded reference values'
        : `referenceValues.${k}`;
  const failed = listedKinds.find(
    (k) => !(MATCH[k] as (c: Record<string, unknown>, p: unknown) => boolean)(claims, pins[k]),
  );
  if (failed) {
    return {
      required,
      listed,
      pinned: false,
      reason: `the launch measurement is not pinned: ${tee} evidence holds ${held(failed, claims)}, which is not in ${field(failed)}; ${WHERE}`,
    };
  }
  if (listedKinds.some((k) => kinds.pin.includes(k))) return { required, listed, pinned: true, reason: '' };
  if (!required) return { required, listed, pinned: false, reason: '' };
  const asked = kinds.pin.length
    ? kinds.pin.map((k) => `referenceValues.${k}`).join(' or ')
    : 'reference value Cloak can check';
  const whom = workload
    ? `workload "${workload}" lists no ${asked} for TEE ${tee}`
    : `the init-data names no manifest workload whose ${asked} could pin TEE ${tee}, and no recorded reference value does`;
  const holds = kinds.pin.length ? `; this evidence holds ${held(kinds.pin[0]!, claims)}` : '';
  return { required, listed, pinned: false, reason: `the launch measurement is not pinned: ${whom}${holds}; ${WHERE}` };
}

export const NO_LAUNCH_PINS: LaunchPins = { measurements: [], snp: [], tdx: [], vtpm: [] };
