import { CloakError, toHex, type ErrorCode } from '../../lib/index.ts';
import { fitDigest } from '../binding.ts';
import type { EvidenceVerifier, VerifiedEvidence, VerifyContext } from '../types.ts';
import {
  VTPM_BINDING_BYTES,
  evidenceAsJson,
  expectedInitDataPcr,
  INITDATA_PCR,
  pcrClaims,
  quoteClaims,
  verifyTpmQuote,
  type VerifiedTpmQuote,
} from '../tpm/index.ts';
import { parseAzSnpEvidence, parseAzTdxEvidence, type AzEvidence } from './evidence.ts';
import { hardwareReportData, parseHclReport, runtimeClaimsDigest, snpVmpl, type HclReport } from './hcl.ts';
import { parseRuntimeClaims, runtimeKey, type RuntimeClaims } from './runtime-claims.ts';

/** What the SEV-SNP verifier is handed: the raw SNP report from the HCL report and the VCEK (DER). */
export interface SnpHardwareInput {
  report: Buffer;
  vcek: Buffer;
}
/** What the TDX verifier is handed: the TD quote (DCAP v4) over the TDREPORT in the HCL report. */
export interface TdxHardwareInput {
  quote: Buffer;
  tdReport: Buffer;
}
/**
 * Verifies the hardware report's signature and chain (AMD VCEK → ASK → ARK;
 * Intel PCK → root, TCB) and returns its report-data. Injected so the Azure
 * checks stay independent of the SNP/TDX verifiers.
 */
export type HardwareVerifier<I> = (input: I, ctx: VerifyContext) => Promise<VerifiedEvidence>;

/** Everything checked without the hardware vendor's signature. */
export interface AzVtpmChecked {
  evidence: AzEvidence;
  hcl: HclReport;
  runtimeClaims: RuntimeClaims;
  quote: VerifiedTpmQuote;
  runtimeClaimsDigest: Buffer;
}

const fail = (code: ErrorCode, message: string): never => {
  throw new CloakError(code, message);
};

/**
 * The vTPM half of Azure CVM evidence, in one direction: HCL report → runtime
 * claims → AK → quote signature → PCR digest → user-data (v2) → runtime-claims
 * digest in the hardware report-data → VMPL 0 (SNP). The hardware report's own
 * signature is NOT checked here; `verifyAzVtpm` delegates it.
 */
export function checkAzVtpm(kind: 'snp' | 'tdx', evidence: AzEvidence): AzVtpmChecked {
  const hcl = parseHclReport(evidence.hcl);
  if (hcl.kind !== kind) fail('AZ_HCL_TYPE_MISMATCH', `the HCL report holds a ${hcl.kind} report, not ${kind}`);
  const runtimeClaims = parseRuntimeClaims(hcl.runtimeClaimsBytes);
  const ak = runtimeKey(runtimeClaims, 'HCLAkPub');
  let quote: VerifiedTpmQuote;
  try {
    quote = verifyTpmQuote(evidence.quote, ak);
  } catch (e) {
    if (e instanceof CloakError && e.code === 'TPM_SIGNATURE_INVALID')
      fail('AZ_QUOTE_NOT_SIGNED_BY_AK', 'the vTPM quote is not signed by the AK (HCLAkPub) in the HCL runtime claims');
    throw e;
  }
  if (evidence.version >= 2) {
    const ud = runtimeClaims.userData;
    if (!ud || quote.extraData.length === 0 || !ud.subarray(0, quote.extraData.length).equals(quote.extraData)) {
      fail(
        'AZ_USER_DATA_MISMATCH',
        "v2 evidence: the HCL runtime claims' user-data does not start with the quote nonce",
      );
    }
  }
  const digest = runtimeClaimsDigest(hcl);
  const reportData = hardwareReportData(hcl);
  if (!reportData.subarray(0, digest.length).equals(digest)) {
    fail(
      'AZ_RUNTIME_CLAIMS_HASH_MISMATCH',
      `the ${kind} report-data does not start with the hash of the HCL runtime claims (${toHex(digest)})`,
    );
  }
  if (kind === 'snp' && snpVmpl(hcl) !== 0)
    fail('AZ_VMPL', `the SNP report was issued at VMPL ${snpVmpl(hcl)}; the HCL's report must come from VMPL 0`);
  return { evidence, hcl, runtimeClaims, quote, runtimeClaimsDigest: digest };
}

function claimsOf(c: AzVtpmChecked, hardware: VerifiedEvidence): Record<string, unknown> {
  return {
    ...hardware.claims,
    evidence_version: c.evidence.version,
    hcl: { version: c.hcl.version, report_type: c.hcl.kind, runtime_claims_sha: toHex(c.runtimeClaimsDigest) },
    'vm-configuration': c.runtimeClaims.vmConfiguration,
    'user-data': c.runtimeClaims.userData ? toHex(c.runtimeClaims.userData) : undefined,
    tpm: { ...pcrClaims(c.quote.pcrs), quote: quoteClaims(c.quote) },
    init_data: c.quote.pcrs[INITDATA_PCR] ? toHex(c.quote.pcrs[INITDATA_PCR]) : undefined,
    report_data: toHex(c.quote.extraData),
  };
}

export async function verifyAzVtpm<I>(
  kind: 'snp' | 'tdx',
  raw: unknown,
  ctx: VerifyContext,
  hardware: HardwareVerifier<I>,
  input: (c: AzVtpmChecked) => I,
): Promise<VerifiedEvidence> {
  const json = evidenceAsJson(raw, 'AZ_EVIDENCE_MALFORMED');
  const c = checkAzVtpm(kind, kind === 'snp' ? parseAzSnpEvidence(json) : parseAzTdxEvidence(json));
  const hw = await hardware(input(c), ctx);
  if (!hw.reportData.subarray(0, c.runtimeClaimsDigest.length).equals(c.runtimeClaimsDigest)) {
    fail(
      'AZ_RUNTIME_CLAIMS_HASH_MISMATCH',
      `the verified ${kind} report-data does not start with the hash of the HCL runtime claims`,
    );
  }
  return {
    tee: `az-${kind}-vtpm`,
    insecure: hw.insecure,
    reportData: c.quote.extraData,
    initData: c.quote.pcrs[INITDATA_PCR],
    claims: claimsOf(c, hw),
  };
}

export interface AzVerifierOptions {
  bindingBytes?: 32 | 48;
}

function azVerifier<I>(
  kind: 'snp' | 'tdx',
  hardware: HardwareVerifier<I>,
  input: (c: AzVtpmChecked) => I,
  opts: AzVerifierOptions,
): EvidenceVerifier {
  const bindingBytes = opts.bindingBytes ?? VTPM_BINDING_BYTES;
  return {
    tee: `az-${kind}-vtpm`,
    verify: (evidence, ctx) => verifyAzVtpm(kind, evidence, ctx, hardware, input),
    expectedReportData: (bindingDigest) => fitDigest(bindingDigest, bindingBytes),
    expectedInitData: expectedInitDataPcr,
  };
}

/** az-snp-vtpm: pass the SEV-SNP verifier as `hardware` (it gets the raw report + VCEK). */
export function makeAzSnpVtpmVerifier(
  hardware: HardwareVerifier<SnpHardwareInput>,
  opts: AzVerifierOptions = {},
): EvidenceVerifier {
  return azVerifier('snp', hardware, (c) => ({ report: c.hcl.hwReport, vcek: c.evidence.vcek! }), opts);
}

/** az-tdx-vtpm: pass the TDX verifier as `hardware` (it gets the TD quote; the TDREPORT is beside it). */
export function makeAzTdxVtpmVerifier(
  hardware: HardwareVerifier<TdxHardwareInput>,
  opts: AzVerifierOptions = {},
): EvidenceVerifier {
  return azVerifier('tdx', hardware, (c) => ({ quote: c.evidence.tdQuote!, tdReport: c.hcl.hwReport }), opts);
}
