/**
 * The claims every verifier reports under the same names, beside its
 * TEE-specific ones (`mr_td`, `mr_enclave`, `host_data`, …), so one
 * attestation policy and one release rule serve every TEE. Each verifier
 * writes them in its claims object literal (typed by this interface; no
 * spread or helper object: claims are built per quote on the hot path).
 */
export interface CommonClaims {
  /** The launch measurement, lower-case hex: SNP MEASUREMENT, TDX MRTD, SGX MRENCLAVE. Absent where the TEE has none (a bare TPM). */
  measurement?: string;
  /** True when the host can read or debug the guest's memory (SNP policy DEBUG, TDX/SGX DEBUG attribute). */
  debug?: boolean;
  /** The vendor's TCB status where the vendor publishes one (Intel: UpToDate, SWHardeningNeeded, …). */
  tcb_status?: string;
  /** The init-data binding as the hardware holds it, hex: SNP HOST_DATA, TDX MRCONFIGID, SGX CONFIGID, vTPM PCR 8. */
  init_data?: string;
  /** The report-data as the hardware holds it, hex. */
  report_data: string;
}
