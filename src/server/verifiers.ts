import {
  dcap, directoryCollateral, httpCollateral, verifySnpReport,
  sampleVerifier, simVerifier, tpmVerifier, tdxVerifier, sgxVerifier, snpVerifier, makeAzTdxVtpmVerifier, makeAzSnpVtpmVerifier,
  type CollateralSource, type EvidenceVerifier, type HardwareVerifier, type TdxHardwareInput, type SnpHardwareInput,
} from '../attest/index.ts';

/** The TD quote inside Azure's HCL evidence goes to the DCAP verifier. */
export const azTdxHardware: HardwareVerifier<TdxHardwareInput> = (input, ctx) => tdxVerifier.verify(input.quote, ctx);
/** The SNP report inside Azure's HCL evidence, with the VCEK Azure supplies, goes to the SEV-SNP verifier. */
export const azSnpHardware: HardwareVerifier<SnpHardwareInput> = (input, ctx) => verifySnpReport(input, ctx);

/** Every TEE the server verifies. */
export function defaultVerifiers(): EvidenceVerifier[] {
  return [
    sampleVerifier, simVerifier, snpVerifier, tdxVerifier, sgxVerifier, tpmVerifier,
    makeAzSnpVtpmVerifier(azSnpHardware), makeAzTdxVtpmVerifier(azTdxHardware),
  ];
}

/**
 * Vendor collateral: an offline directory when given (AMD KDS and Intel PCS
 * layouts both served from it), else fetched and cached: AMD KDS for SNP,
 * Intel PCS (with its issuer-chain headers) for TDX and SGX.
 */
export function collateralSource(dir: string | undefined): CollateralSource {
  if (dir) return firstOf([directoryCollateral(dir), dcap.directoryCollateralSource(dir)]);
  const amd = httpCollateral({ fetch, now: () => Date.now() });
  const intel = dcap.pcsCollateralSource(fetch, { clock: () => Date.now() });
  return { get: (url) => (new URL(url.split('#')[0]!).hostname.endsWith('amd.com') ? amd.get(url) : intel.get(url)) };
}

function firstOf(sources: CollateralSource[]): CollateralSource {
  return {
    async get(url) {
      for (const s of sources) {
        const body = await s.get(url);
        if (body) return body;
      }
      return undefined;
    },
  };
}
