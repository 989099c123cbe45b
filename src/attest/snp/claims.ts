import { toHex } from '../../lib/index.ts';
import type { CommonClaims } from '../claims.ts';
import { decodeTcb, signingKey, type SnpReport } from './report.ts';

const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;
const hex64 = (v: bigint): string => v.toString(16).padStart(16, '0');

/** The report as normalised claims: hex strings for bytes, named flags, numbers for SVNs. */
export function snpClaims(
  report: SnpReport,
  product: string,
  extra: Record<string, unknown> = {},
): CommonClaims & Record<string, unknown> {
  const turin = product === 'Turin';
  const tcb = (raw: bigint): Record<string, unknown> => {
    const t = decodeTcb(raw, turin);
    return {
      ...(turin ? { fmc: t.fmc } : {}),
      bootloader: t.bootloader,
      tee: t.tee,
      snp: t.snp,
      microcode: t.microcode,
      raw: hex64(raw),
    };
  };
  const p = report.policy;
  const pi = report.platformInfo;
  const ver = (v: { major: number; minor: number; build: number }): string => `${v.major}.${v.minor}.${v.build}`;
  return {
    debug: bit(p, 19),
    init_data: toHex(report.hostData),
    product,
    version: report.version,
    guest_svn: report.guestSvn,
    policy: {
      raw: hex64(p),
      abi_minor: Number(p & 0xffn),
      abi_major: Number((p >> 8n) & 0xffn),
      smt_allowed: bit(p, 16),
      migrate_ma_allowed: bit(p, 18),
      debug_allowed: bit(p, 19),
      single_socket: bit(p, 20),
      cxl_allowed: bit(p, 21),
      mem_aes_256_xts: bit(p, 22),
      rapl_disabled: bit(p, 23),
      ciphertext_hiding: bit(p, 24),
      page_swap_disabled: bit(p, 25),
    },
    platform: {
      raw: hex64(pi),
      smt_enabled: bit(pi, 0),
      tsme_enabled: bit(pi, 1),
      ecc_enabled: bit(pi, 2),
      rapl_disabled: bit(pi, 3),
      ciphertext_hiding_enabled: bit(pi, 4),
      alias_check_complete: bit(pi, 5),
      tio_enabled: bit(pi, 7),
    },
    vmpl: report.vmpl,
    signing_key: signingKey(report),
    author_key_en: (report.keyInfo & 1) === 1,
    mask_chip_key: (report.keyInfo & 2) === 2,
    family_id: toHex(report.familyId),
    image_id: toHex(report.imageId),
    report_data: toHex(report.reportData),
    measurement: toHex(report.measurement),
    host_data: toHex(report.hostData),
    id_key_digest: toHex(report.idKeyDigest),
    author_key_digest: toHex(report.authorKeyDigest),
    report_id: toHex(report.reportId),
    report_id_ma: toHex(report.reportIdMa),
    chip_id: toHex(report.chipId),
    cpuid: report.cpuid
      ? { family: report.cpuid.family, model: report.cpuid.model, stepping: report.cpuid.stepping }
      : null,
    current_tcb: tcb(report.currentTcbRaw),
    reported_tcb: tcb(report.reportedTcbRaw),
    committed_tcb: tcb(report.committedTcbRaw),
    launch_tcb: tcb(report.launchTcbRaw),
    current_version: ver(report.currentVersion),
    committed_version: ver(report.committedVersion),
    launch_mit_vector: report.launchMitVector === undefined ? null : hex64(report.launchMitVector),
    current_mit_vector: report.currentMitVector === undefined ? null : hex64(report.currentMitVector),
    ...extra,
  };
}
