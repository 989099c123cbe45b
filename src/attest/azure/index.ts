export {
  parseHclReport,
  runtimeClaimsDigest,
  hardwareReportData,
  snpVmpl,
  HCL_SIGNATURE,
  HCL_HEADER_SIZE,
  HCL_HW_REPORT_SIZE,
  HCL_TD_REPORT_SIZE,
  HCL_NV_INDEX,
  HCL_REPORT_TYPE,
  type HclReport,
  HCL_TD_OFFSETS,
} from './hcl.ts';
export { parseRuntimeClaims, runtimeKey, type RuntimeClaims } from './runtime-claims.ts';
export { parseAzSnpEvidence, parseAzTdxEvidence, type AzEvidence } from './evidence.ts';
export {
  checkAzVtpm,
  verifyAzVtpm,
  makeAzSnpVtpmVerifier,
  makeAzTdxVtpmVerifier,
  type SnpHardwareInput,
  type TdxHardwareInput,
  type HardwareVerifier,
  type AzVtpmChecked,
  type AzVerifierOptions,
} from './verify.ts';
