import { parse as parseYaml } from 'yaml';
import { createHash } from 'node:crypto';
import { CloakError } from '../lib/index.ts';
import { compileCel, runCel, type CelProgram } from './cel.ts';
import { TRUST_CLAIMS, statusOf, type EarStatus, type TrustClaim, type TrustVector } from './ar4si.ts';

/** The TEEs that prove nothing: Cloak's simulated TEE and CoCo's `sample` TEE (which needs no key at all). */
export const INSECURE_TEES = ['sim', 'sample'] as const;

/** The vendor TCB statuses (`claims.tcb_status`, Intel's today) admitted when a policy names none: the latter comes with a warning claim. */
export const DEFAULT_ACCEPTED_TCB_STATUSES: readonly string[] = ['UpToDate', 'SWHardeningNeeded'];

/**
 * An attestation policy: YAML holding, per AR4SI claim, a CEL expression
 * that maps the verified evidence to a value (−128…127), plus the list of
 * insecure TEEs it admits by name (`allowInsecure: [sim]`), and what it
 * refuses of every TEE alike from the common claims the verifiers report:
 * debuggable guests (`allowDebug`) and vendor TCB statuses it does not
 * accept (`acceptedTcbStatuses`). Claims left out make no statement (0).
 */
export interface AttestationPolicy {
  id: string;
  text: string;
  /** Insecure TEEs admitted, each named explicitly; empty admits none. */
  allowInsecure: string[];
  /** Admit guests of hardware TEEs whose `debug` claim is true (default false: refused; simulated ones are rated by the trust vector instead). */
  allowDebug: boolean;
  /** `tcb_status` values admitted where a verifier reports one (default DEFAULT_ACCEPTED_TCB_STATUSES). */
  acceptedTcbStatuses: readonly string[];
  /** TEE names accepted; empty means any TEE the server can verify. */
  tees: string[];
  rules: Array<{ claim: TrustClaim; program: CelProgram }>;
}

export interface AppraisalInput {
  tee: string;
  insecure: boolean;
  claims: Record<string, unknown>;
  init_data: Record<string, unknown>;
  refs: Record<string, unknown>;
}

export interface Appraisal {
  status: EarStatus;
  trustVector: TrustVector;
  policyId: string;
}

export function parseAttestationPolicy(text: string): AttestationPolicy {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new CloakError(
      'POLICY_INVALID',
      `attestation policy is not valid YAML: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new CloakError('POLICY_INVALID', 'attestation policy must be a YAML mapping');
  const d = doc as Record<string, unknown>;
  const known = new Set(['version', 'allowInsecure', 'allowDebug', 'acceptedTcbStatuses', 'tees', 'trustVector']);
  const unknown = Object.keys(d).filter((k) => !known.has(k));
  if (unknown.length)
    throw new CloakError(
      'POLICY_INVALID',
      `attestation policy has unknown keys: ${unknown.join(', ')} (known: ${[...known].join(', ')})`,
    );
  if (d.version !== 1) throw new CloakError('POLICY_INVALID', 'attestation policy needs "version: 1"');
  const allowInsecure = parseAllowInsecure(d.allowInsecure);
  const allowDebug = d.allowDebug ?? false;
  if (typeof allowDebug !== 'boolean') throw new CloakError('POLICY_INVALID', '"allowDebug" must be true or false');
  const acceptedTcbStatuses = d.acceptedTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES;
  if (
    !Array.isArray(acceptedTcbStatuses) ||
    !acceptedTcbStatuses.every((s) => typeof s === 'string' && /^[A-Za-z]+$/.test(s))
  ) {
    throw new CloakError(
      'POLICY_INVALID',
      `"acceptedTcbStatuses" must be a list of vendor TCB statuses, e.g. [${DEFAULT_ACCEPTED_TCB_STATUSES.join(', ')}]`,
    );
  }
  const tees = d.tees ?? [];
  if (!Array.isArray(tees) || !tees.every((t) => typeof t === 'string'))
    throw new CloakError('POLICY_INVALID', '"tees" must be a list of TEE names');
  const tv = d.trustVector ?? {};
  if (!tv || typeof tv !== 'object' || Array.isArray(tv))
    throw new CloakError('POLICY_INVALID', '"trustVector" must map AR4SI claims to CEL expressions');
  const rules: AttestationPolicy['rules'] = [];
  for (const [claim, expr] of Object.entries(tv)) {
    if (!(TRUST_CLAIMS as readonly string[]).includes(claim)) {
      throw new CloakError(
        'POLICY_INVALID',
        `"trustVector.${claim}" is not an AR4SI claim (one of ${TRUST_CLAIMS.join(', ')})`,
      );
    }
    const source = typeof expr === 'number' ? String(expr) : expr;
    if (typeof source !== 'string')
      throw new CloakError('POLICY_INVALID', `"trustVector.${claim}" must be a CEL expression`);
    rules.push({ claim: claim as TrustClaim, program: compileCel(source, `trustVector.${claim}`) });
  }
  const id = 'sha256:' + createHash('sha256').update(text).digest('hex');
  return {
    id,
    text,
    allowInsecure,
    allowDebug,
    acceptedTcbStatuses: acceptedTcbStatuses as string[],
    tees: tees as string[],
    rules,
  };
}

/**
 * `allowInsecure` names the insecure TEEs it admits. The old boolean form is
 * refused rather than guessed: `true` used to admit `sample` too, which lets
 * anyone who reaches the server take secrets.
 */
function parseAllowInsecure(v: unknown): string[] {
  const known = INSECURE_TEES.join(', ');
  if (v === undefined || v === false) return [];
  if (v === true) {
    throw new CloakError(
      'POLICY_INVALID',
      `"allowInsecure: true" is no longer accepted: list the insecure TEEs to admit, e.g. "allowInsecure: [sim]" for cloak run (known: ${known}; "sample" needs no key at all, name it only for tests)`,
    );
  }
  if (!Array.isArray(v) || !v.every((t) => typeof t === 'string'))
    throw new CloakError(
      'POLICY_INVALID',
      `"allowInsecure" must be a list of insecure TEE names (${known}), e.g. [sim]`,
    );
  const unknown = v.filter((t) => !(INSECURE_TEES as readonly string[]).includes(t));
  if (unknown.length)
    throw new CloakError(
      'POLICY_INVALID',
      `"allowInsecure" names ${unknown.map((t) => `"${t}"`).join(', ')}, which is not an insecure TEE (known: ${known})`,
    );
  return [...new Set(v as string[])];
}

/**
 * What the policy refuses of every TEE alike, from the facts the verifiers
 * report: a debuggable guest of a hardware TEE, a vendor TCB status not
 * accepted. Refused evidence fails attestation (401), as a failed hardware
 * check does; the message says which fact and how to change it.
 */
function refuseByClaims(policy: AttestationPolicy, input: AppraisalInput): void {
  const { claims } = input;
  if (!input.insecure && claims.debug === true && !policy.allowDebug) {
    throw new CloakError(
      'POLICY_DEBUG_REFUSED',
      `the ${input.tee} guest is debuggable (its debug flag is set: SNP policy DEBUG, TDX/SGX DEBUG attribute), so the host can read its memory; relaunch without debug, or set "allowDebug: true" in the attestation policy (never in production)`,
    );
  }
  const status = claims.tcb_status;
  if (typeof status === 'string' && !policy.acceptedTcbStatuses.includes(status)) {
    const advisories = Array.isArray(claims.advisory_ids) ? claims.advisory_ids.map(String) : [];
    throw new CloakError(
      'POLICY_TCB_STATUS_REFUSED',
      `the platform TCB status is ${status}${advisories.length ? ` (${advisories.join(', ')})` : ''}, not one of ${policy.acceptedTcbStatuses.join(', ')}: update the platform, or accept this status in the attestation policy's acceptedTcbStatuses`,
      { details: { tcbStatus: status, advisoryIds: advisories } },
    );
  }
}

/** Applies the policy to verified evidence. Refusals are CloakErrors (403, or 401 for refused claims). */
export function appraise(policy: AttestationPolicy, input: AppraisalInput): Appraisal {
  if (input.insecure && !policy.allowInsecure.includes(input.tee)) {
    const admitted = policy.allowInsecure.length
      ? `it admits only ${policy.allowInsecure.join(', ')}`
      : 'it admits none';
    throw new CloakError(
      'POLICY_INSECURE_TEE',
      `TEE "${input.tee}" is insecure (simulated or sample) and the attestation policy does not name it in allowInsecure (${admitted})`,
    );
  }
  if (policy.tees.length > 0 && !policy.tees.includes(input.tee)) {
    throw new CloakError(
      'POLICY_TEE_NOT_ALLOWED',
      `TEE "${input.tee}" is not in the attestation policy's tees (${policy.tees.join(', ')})`,
    );
  }
  refuseByClaims(policy, input);
  const trustVector: TrustVector = {};
  for (const rule of policy.rules) {
    const v = runCel(rule.program, input as unknown as Record<string, unknown>, `trustVector.${rule.claim}`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -128 || v > 127) {
      throw new CloakError(
        'POLICY_EVALUATION',
        `trustVector.${rule.claim} must yield an integer in −128…127, got ${JSON.stringify(v)}`,
      );
    }
    trustVector[rule.claim] = v;
  }
  return { status: statusOf(trustVector), trustVector, policyId: policy.id };
}
