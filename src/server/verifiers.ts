import {
  defaultCollateral,
  verifySnpReport,
  sampleVerifier,
  simVerifier,
  tpmVerifier,
  tdxVerifier,
  sgxVerifier,
  snpVerifier,
  makeAzTdxVtpmVerifier,
  makeAzSnpVtpmVerifier,
  VerifyCache,
  type CollateralSource,
  type EvidenceVerifier,
  type HardwareVerifier,
  type TdxHardwareInput,
  type SnpHardwareInput,
} from '../attest/index.ts';

/** The TD quote inside Azure's HCL evidence goes to the DCAP verifier. */
export const azTdxHardware: HardwareVerifier<TdxHardwareInput> = (input, ctx) => tdxVerifier.verify(input.quote, ctx);
/** The SNP report inside Azure's HCL evidence, with the VCEK Azure supplies, goes to the SEV-SNP verifier. */
export const azSnpHardware: HardwareVerifier<SnpHardwareInput> = (input, ctx) => verifySnpReport(input, ctx);

/** Every TEE the server verifies. */
export function defaultVerifiers(): EvidenceVerifier[] {
  return [
    sampleVerifier,
    simVerifier,
    snpVerifier,
    tdxVerifier,
    sgxVerifier,
    tpmVerifier,
    makeAzSnpVtpmVerifier(azSnpHardware),
    makeAzTdxVtpmVerifier(azTdxHardware),
  ];
}

/** Vendor collateral: the operator's directory or file when given (offline), else AMD KDS and Intel PCS, fetched and cached. */
export function collateralSource(path: string | undefined): CollateralSource {
  return defaultCollateral({ path, fetch, now: () => Date.now() });
}

/** The verifiers' caches of this process (chains, parsed certificates, CRLs, collateral), shared by every attestation. */
export function verifyCache(): VerifyCache {
  return new VerifyCache();
}
