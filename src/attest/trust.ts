import type { QuoteCollateral } from './dcap/collateral.ts';
import type { SnpPolicy } from './snp/appraise.ts';
import type { ProductRoots } from './snp/roots/types.ts';

/**
 * The trust material of every TEE, under its own key of `VerifyContext.trust`
 * (loaded once by the composition and passed in; every field optional unless
 * the TEE has no default to fall back on). The Azure vTPM verifiers have none
 * of their own: their hardware reports are checked with `snp` and `dcap`.
 */
export interface TrustMaterial {
  snp?: SnpTrust;
  dcap?: DcapTrust;
  sim?: SimTrust;
  tpm?: TpmTrust;
}

/** SEV-SNP: all optional. */
export interface SnpTrust {
  /** Trusted roots per product (default: AMD's, pinned). */
  roots?: Record<string, ProductRoots>;
  /** CRLs per product (DER or PEM), used before ctx.collateral. */
  crls?: Record<string, Uint8Array>;
  /** Refuse when no CRL can be had (default false: checked when available). */
  requireCrl?: boolean;
  /** A VEK to use (DER or PEM) before the evidence's and KDS's. */
  vek?: Uint8Array | string;
  /** SNP-specific requirements (VMPL, minimum TCB, measurements, …); debug is the attestation policy's to refuse. */
  policy?: SnpPolicy;
}

/** Intel TDX and SGX (DCAP): all optional. The TCB status and debug flag are reported as claims; the attestation policy decides on them. */
export interface DcapTrust {
  /** Collateral to use instead of `ctx.collateral` (the verifier's form or dcap-qvl's JSON object). */
  collateral?: QuoteCollateral | Record<string, unknown>;
  /** PEM of a root to trust instead of the pinned Intel SGX Root CA (Intel pre-production, or self-made test chains). */
  rootCaPem?: string;
}

/** Cloak's simulated TEE. */
export interface SimTrust {
  /** PEM certificates of simulated roots (`cloak sim init` makes one); not changed in place once in use (parsed once per list). */
  roots: string[];
}

/**
 * A bare TPM has no vendor chain that vouches for its attestation key here,
 * so, as trustee's `tpm` verifier does, the AK must be one an operator
 * enrolled: its public key (PEM) is in this list, matched by SHA-256 of the
 * SPKI DER.
 */
export interface TpmTrust {
  /** Not changed in place once in use (its fingerprints are computed once). */
  trustedAks: string[];
}
