import { createHash } from 'node:crypto';
import { ByteReader, CloakError } from '../../lib/index.ts';
import { OFFSETS as SNP_OFFSETS, REPORT_SIZE as SNP_REPORT_SIZE } from '../snp/report.ts';

/**
 * The Azure HCL (paravisor) attestation report, as the vTPM exposes it in NV
 * index 0x01400001: a 32-byte header, the hardware report (SEV-SNP report or
 * TDX TDREPORT, in a 1184-byte slot), then the IGVM request data whose
 * variable part is the runtime-claims JSON the hardware report-data hashes.
 */
export const HCL_SIGNATURE = 0x414c4348; // "HCLA" little-endian
export const HCL_HEADER_SIZE = 32;
export const HCL_HW_REPORT_SIZE = 1184;
export const HCL_TD_REPORT_SIZE = 1024;
export const HCL_NV_INDEX = 0x01400001;

export const HCL_REPORT_TYPE = { snp: 2, tdx: 4 } as const;
const HASH_TYPES: Record<number, { name: string; size: number }> = {
  1: { name: 'sha256', size: 32 },
  2: { name: 'sha384', size: 48 },
  3: { name: 'sha512', size: 64 },
};

export interface HclReport {
  version: number;
  reportSize: number;
  requestType: number;
  status: number;
  kind: 'snp' | 'tdx';
  /** The SEV-SNP report (1184 bytes) or TDREPORT (1024 bytes). */
  hwReport: Buffer;
  hashType: number;
  /** The runtime claims exactly as hashed into the hardware report-data. */
  runtimeClaimsBytes: Buffer;
}

const CODE = 'AZ_HCL_MALFORMED';

export function parseHclReport(buf: Buffer): HclReport {
  if (buf.length > 1 << 16) throw new CloakError(CODE, `HCL report is ${buf.length} bytes (at most 65536)`);
  const r = new ByteReader(buf, CODE, 'HCL report');
  const sig = r.u32le('signature');
  if (sig !== HCL_SIGNATURE) throw new CloakError('AZ_HCL_SIGNATURE', 'the HCL report does not start with "HCLA"');
  const version = r.u32le('version');
  const reportSize = r.u32le('report_size');
  const requestType = r.u32le('request_type');
  const status = r.u32le('status');
  r.skip(12, 'reserved');
  const slot = r.bytes(HCL_HW_REPORT_SIZE, 'hardware report');
  const dataSize = r.u32le('data_size');
  r.u32le('data version');
  const reportType = r.u32le('report_type');
  const hashType = r.u32le('report_data_hash_type');
  const varSize = r.u32le('variable_data_size');
  if (dataSize !== varSize + 20)
    throw new CloakError(CODE, `HCL data_size ${dataSize} does not match variable_data_size ${varSize} + 20`);
  if (reportSize > buf.length || reportSize < HCL_HEADER_SIZE + HCL_HW_REPORT_SIZE + dataSize)
    throw new CloakError(CODE, `HCL report_size ${reportSize} does not fit the report`);
  const runtimeClaimsBytes = Buffer.from(r.bytes(varSize, 'runtime claims'));
  if (!HASH_TYPES[hashType])
    throw new CloakError(
      'AZ_HCL_UNSUPPORTED',
      `HCL report-data hash type ${hashType} is not supported (1 SHA-256, 2 SHA-384, 3 SHA-512)`,
    );
  let kind: 'snp' | 'tdx';
  let hwReport: Buffer;
  if (reportType === HCL_REPORT_TYPE.snp) {
    kind = 'snp';
    hwReport = Buffer.from(slot.subarray(0, SNP_REPORT_SIZE));
  } else if (reportType === HCL_REPORT_TYPE.tdx) {
    kind = 'tdx';
    hwReport = Buffer.from(slot.subarray(0, HCL_TD_REPORT_SIZE));
  } else
    throw new CloakError('AZ_HCL_UNSUPPORTED', `HCL report type ${reportType} is not supported (2 SEV-SNP, 4 TDX)`);
  return { version, reportSize, requestType, status, kind, hwReport, hashType, runtimeClaimsBytes };
}

/** The digest of the runtime claims that the hardware report-data must start with. */
export function runtimeClaimsDigest(hcl: HclReport): Buffer {
  return createHash(HASH_TYPES[hcl.hashType]!.name).update(hcl.runtimeClaimsBytes).digest();
}

/** TDREPORT: REPORTMACSTRUCT (type at 0, report_data at 128). */
export const HCL_TD_OFFSETS = { type: 0x00, reportData: 128 } as const;

/** The 64-byte report-data field of the hardware report inside the HCL report. */
export function hardwareReportData(hcl: HclReport): Buffer {
  const off = hcl.kind === 'snp' ? SNP_OFFSETS.reportData : HCL_TD_OFFSETS.reportData;
  return Buffer.from(hcl.hwReport.subarray(off, off + 64));
}

export function snpVmpl(hcl: HclReport): number {
  return hcl.hwReport.readUInt32LE(SNP_OFFSETS.vmpl);
}
