export {
  parseSgxReportBody,
  parseQuote,
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
  type QuoteHeader,
  type SgxReportBody,
  type TdReportBody,
  type CertificationData,
  type QeReportCertificationData,
  type QuoteSignatureData,
  type QuoteBody,
  type Quote,
} from './quote.ts';
export { parsePckExtensions, type PckExtensions, SGX_EXTENSIONS_OID } from './pck-extensions.ts';
export { INTEL_SGX_ROOT_CA_PEM } from './roots.ts';
export { splitPemChain, verifyIntelChain, intelRoot } from './chain.ts';
export {
  loadQuoteCollateral,
  extractSignedBody,
  pcsUrls,
  fetchQuoteCollateral,
  type QuoteCollateral,
  type DcapTee,
  type PckCa,
  ROOT_CA_CRL_URL,
} from './collateral.ts';
export { gatheredCollateral, COLLATERAL_REUSE_MS } from './collateral-cache.ts';
export {
  parseTcbInfo,
  parseQeIdentity,
  verifyCollateralSignature,
  type TcbStatus,
  TCB_STATUSES,
  type TcbLevel,
  type IsvLevel,
  type TdxModuleIdentity,
  type TcbInfo,
  type QeIdentity,
} from './tcb-info.ts';
export { appraiseQe, appraiseTcb, type TcbAppraisal } from './appraise.ts';
export {
  verifyQuoteSignatures,
  verifyCollateral,
  collateralDocuments,
  applyCollateral,
  type SignedQuote,
  type VerifiedCollateral,
  type CollateralDocs,
} from './verify.ts';
export {
  verifyDcapQuote,
  dcapPlatformClaims,
  dcapOptionsFrom,
  quoteBytesFrom,
  type DcapTrust,
  type DcapVerifyOptions,
  type DcapVerified,
} from './verify-quote.ts';
