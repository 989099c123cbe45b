import { fitDigest } from '../binding.ts';
import type { EvidenceVerifier } from '../types.ts';
import { verifySnpEvidence } from './verify.ts';

/** The SEV-SNP verifier: CoCo's evidence JSON or a raw report; trust in `ctx.trust.snp` (SnpTrust), collateral via `ctx.collateral`. */
export const snpVerifier: EvidenceVerifier = {
  tee: 'snp',
  verify: verifySnpEvidence,
  expectedReportData: (digest: Buffer): Buffer => fitDigest(digest, 64),
  expectedInitData: (digest: Buffer): Buffer => fitDigest(digest, 32),
};

export { verifySnp, verifySnpEvidence, verifySnpReport, type SnpTrust, type SnpVerification } from './verify.ts';
export { appraiseSnp, type SnpPolicy, type MinimumTcb } from './appraise.ts';
export {
  parseReport,
  decodeTcb,
  REPORT_SIZE,
  SIGNED_LENGTH,
  OFFSETS as SNP_OFFSETS,
  type SnpReport,
  type TcbVersion,
} from './report.ts';
export { parseSnpEvidence, reportFromJson } from './evidence.ts';
export { parseVek, type Vek } from './vek.ts';
export { AMD_ROOTS, parsedRoots, SNP_PRODUCTS, type ProductRoots } from './roots/index.ts';
export { KDS_BASE, vcekUrl, vlekUrl, crlUrl, certChainUrl } from './kds.ts';
export { snpClaims } from './claims.ts';
