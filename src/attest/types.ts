/**
 * The contract every evidence verifier implements (sim, sample, snp, tdx,
 * sgx, az-snp-vtpm, az-tdx-vtpm, tpm, …). Verification flows one way:
 * evidence → parse → verify against trust material → claims. Binding
 * (report-data, init-data) and appraisal (policy) happen after, on the
 * returned value. Nothing here reads the wall clock or the network: both
 * come in through `VerifyContext`.
 */
import type { VerifyCache } from './cache.ts';
import type { CollateralSource } from './collateral-source.ts';
import type { TrustMaterial } from './trust.ts';

export type { CollateralSource } from './collateral-source.ts';
export type { TrustMaterial, SnpTrust, DcapTrust, SimTrust, TpmTrust } from './trust.ts';

export interface VerifyContext {
  /** The time at which certificates, CRLs and collateral must be valid. */
  now: Date;
  /** Where collateral comes from (network cache, offline directory, in-memory). */
  collateral?: CollateralSource;
  /** Trust material per TEE (sim roots, enrolled TPM AKs, …); each verifier reads its own key. */
  trust?: TrustMaterial;
  /** The process's caches (verified chains, parsed certificates, checked CRLs and collateral); without one, nothing is kept. */
  cache?: VerifyCache;
}

/** Normalised claims: hex strings for bytes, booleans for flags, numbers for SVNs; the common ones (`CommonClaims`) under the same names for every TEE. */
export type Claims = Record<string, unknown>;

export interface VerifiedEvidence {
  tee: string;
  /** True for TEEs that prove nothing (sample, sim); policies must opt in. */
  insecure: boolean;
  claims: Claims;
  /** The report-data as the hardware holds it (full field width). */
  reportData: Buffer;
  /**
   * The init-data binding as the hardware holds it: SNP host_data (32),
   * TDX mr_config_id (48), SGX config_id (64), or the PCR8 value on vTPM
   * platforms. Undefined when the TEE has no such field.
   */
  initData?: Buffer;
}

export interface EvidenceVerifier {
  readonly tee: string;
  /**
   * Verifies `evidence` (the parsed `primary_evidence` JSON of the KBS
   * protocol, or raw bytes for a CLI file) and returns its claims. Throws a
   * CloakError with a TEE-specific code when anything fails.
   */
  verify(evidence: unknown, ctx: VerifyContext): Promise<VerifiedEvidence>;
  /** The report-data value the hardware must hold for a 48-byte SHA-384 binding digest. */
  expectedReportData(bindingDigest: Buffer): Buffer;
  /** The init-data value the hardware must hold for this init-data digest; undefined if not checkable. */
  expectedInitData?(initDataDigest: Buffer): Buffer | undefined;
}
