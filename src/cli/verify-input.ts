import { existsSync, readFileSync, statSync } from 'node:fs';
import { CloakError } from '../lib/errors.ts';
import { toHex } from '../lib/bytes.ts';
import type { CollateralSource, VerifiedEvidence, VerifyContext } from '../attest/index.ts';

/** Inputs every `cloak verify` subcommand takes alike. */

/** `--at`: the RFC 3339 time to verify as of; now when not given. */
export function verifyTime(at: string | undefined): Date {
  if (at === undefined) return new Date();
  const now = new Date(at);
  if (Number.isNaN(now.getTime()) || !/^\d{4}-\d\d-\d\dT/.test(at))
    throw new CloakError('USAGE_AT', `--at ${at} is not an RFC 3339 time (e.g. 2025-07-01T00:00:00Z)`);
  return now;
}

/** The bytes of an input file; a missing file (or a directory) is a usage error. `flag` names the option it came from. */
export function readInputFile(file: string, flag = ''): Buffer {
  if (!existsSync(file) || !statSync(file).isFile())
    throw new CloakError('USAGE_FILE', `${flag}${file} does not exist or is not a file`);
  return readFileSync(file);
}

/** `--collateral PATH`, read as `cloak serve --collateral` reads it: a directory of vendor responses or a collateral JSON file. */
export async function collateralOption(path: string | undefined): Promise<CollateralSource | undefined> {
  if (path === undefined) return undefined;
  if (!existsSync(path)) throw new CloakError('USAGE_COLLATERAL', `--collateral ${path} does not exist`);
  return (await import('../attest/collateral/index.ts')).operatorCollateral(path);
}

/** The context every `cloak verify` subcommand verifies in: `--at`, `--collateral`, its trust material, and the run's one cache (as `cloak serve` has one per process). */
export async function verifyContext(
  o: { at?: string; collateral?: string },
  trust: VerifyContext['trust'],
): Promise<VerifyContext> {
  const { VerifyCache } = await import('../attest/cache.ts');
  return { now: verifyTime(o.at), collateral: await collateralOption(o.collateral), trust, cache: new VerifyCache() };
}

/** What the flags of a `cloak verify` subcommand change in the default attestation policy. */
export interface AppraisalFlags {
  allowDebug?: boolean;
  acceptedTcbStatuses?: string[];
}

/**
 * Appraises verified evidence as `cloak serve` does after binding, under the
 * default attestation policy (`--allow-debug`, `--accept-tcb` change it):
 * a debuggable guest or an unaccepted TCB status is refused with the reason.
 */
export async function appraiseVerified(v: VerifiedEvidence, flags: AppraisalFlags = {}): Promise<void> {
  const { appraise, parseAttestationPolicy, DEFAULT_ATTESTATION_POLICY } = await import('../policy/index.ts');
  const policy = parseAttestationPolicy(DEFAULT_ATTESTATION_POLICY);
  if (flags.allowDebug) policy.allowDebug = true;
  if (flags.acceptedTcbStatuses) policy.acceptedTcbStatuses = flags.acceptedTcbStatuses;
  appraise(policy, { tee: v.tee, insecure: v.insecure, claims: v.claims, init_data: {}, refs: {} });
}

/** What `--json` prints for verified evidence: the report data, the init-data digest and the claims. */
export function verifiedJson(v: VerifiedEvidence): Record<string, unknown> {
  return {
    ok: true,
    tee: v.tee,
    reportData: toHex(v.reportData),
    initData: v.initData ? toHex(v.initData) : undefined,
    claims: v.claims,
  };
}
