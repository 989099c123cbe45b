import {
  dcap, type CollateralSource,
  sampleVerifier, simVerifier, tpmVerifier, tdxVerifier, sgxVerifier, makeAzTdxVtpmVerifier,
  type EvidenceVerifier, type HardwareVerifier, type TdxHardwareInput,
} from '../attest/index.ts';

/** The TD quote inside Azure's HCL evidence goes to the DCAP verifier. */
export const azTdxHardware: HardwareVerifier<TdxHardwareInput> = (input, ctx) => tdxVerifier.verify(input.quote, ctx);

/** Every TEE the server verifies. */
export function defaultVerifiers(): EvidenceVerifier[] {
  return [sampleVerifier, simVerifier, tpmVerifier, tdxVerifier, sgxVerifier, makeAzTdxVtpmVerifier(azTdxHardware)];
}

/** Vendor collateral: an offline directory when given, else Intel PCS over the network (cached). */
export function collateralSource(dir: string | undefined): CollateralSource {
  if (dir) return dcap.directoryCollateralSource(dir);
  return dcap.pcsCollateralSource(fetch, { clock: () => Date.now() });
}
