import { CloakError, isAllZero, type ErrorCode } from '../../lib/index.ts';
import { decodeTcb, type SnpReport, type TcbVersion } from './report.ts';
import type { Vek } from './vek.ts';

const fail = (code: ErrorCode, message: string): never => {
  throw new CloakError(code, message);
};

/**
 * The VEK is issued for one reported TCB and (VCEK) one chip: its SPL
 * extensions must equal the report's reported_tcb and its hwID the chip_id
 * (Turin hwIDs are 8 bytes: the rest of chip_id must be zero).
 */
export function checkVekMatchesReport(vek: Vek, report: SnpReport, product: string): TcbVersion {
  const turin = product === 'Turin';
  const tcb = decodeTcb(report.reportedTcbRaw, turin);
  const parts: (keyof Vek['tcb'])[] = turin
    ? ['fmc', 'bootloader', 'tee', 'snp', 'microcode']
    : ['bootloader', 'tee', 'snp', 'microcode'];
  for (const p of parts) {
    const want = vek.tcb[p];
    if (want === undefined) fail('SNP_VEK_MALFORMED', `the ${vek.kind} has no ${p} SPL extension`);
    if (want !== tcb[p])
      fail(
        'SNP_TCB_MISMATCH',
        `the report's reported TCB ${p} SPL is ${tcb[p]} but the ${vek.kind} was issued for ${want}: fetch the ${vek.kind} for this TCB`,
      );
  }
  if (vek.kind === 'VCEK') {
    const hw = vek.hwId;
    if (!hw || hw.length === 0 || hw.length > 64)
      return fail('SNP_VEK_MALFORMED', 'the VCEK has no usable hwID extension');
    if (isAllZero(report.chipId))
      fail(
        'SNP_HWID_MISMATCH',
        'the report masks its chip ID, so it cannot be matched to a VCEK (use a VLEK or unmask the chip ID)',
      );
    if (!hw.equals(report.chipId.subarray(0, hw.length)) || !isAllZero(report.chipId.subarray(hw.length))) {
      fail('SNP_HWID_MISMATCH', "the report's chip ID is not the VCEK's hwID: the certificate is for another chip");
    }
  }
  return tcb;
}
