import { toHex } from '../../lib/index.ts';
import type { SnpReport, TcbVersion } from './report.ts';

/** AMD Key Distribution Service. */
export const KDS_BASE = 'https://kdsintf.amd.com';

/** The KDS hwID of a chip: 64 bytes of chip_id, or the first 8 on Turin. */
export const kdsHwId = (report: SnpReport, product: string): string =>
  toHex(product === 'Turin' ? report.chipId.subarray(0, 8) : report.chipId);

const splQuery = (tcb: TcbVersion, product: string): string =>
  (product === 'Turin' ? `fmcSPL=${tcb.fmc ?? 0}&` : '') +
  `blSPL=${tcb.bootloader}&teeSPL=${tcb.tee}&snpSPL=${tcb.snp}&ucodeSPL=${tcb.microcode}`;

/** https://kdsintf.amd.com/vcek/v1/{product}/{hwid}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=.. */
export const vcekUrl = (product: string, report: SnpReport, tcb: TcbVersion): string =>
  `${KDS_BASE}/vcek/v1/${product}/${kdsHwId(report, product)}?${splQuery(tcb, product)}`;

/** KDS serves VLEKs only to the CSP that registered them; the URL is kept for caches and directories. */
export const vlekUrl = (product: string, report: SnpReport, tcb: TcbVersion): string =>
  `${KDS_BASE}/vlek/v1/${product}/${kdsHwId(report, product)}?${splQuery(tcb, product)}`;

export const crlUrl = (product: string, kind: 'VCEK' | 'VLEK'): string =>
  `${KDS_BASE}/${kind.toLowerCase()}/v1/${product}/crl`;

export const certChainUrl = (product: string, kind: 'VCEK' | 'VLEK'): string =>
  `${KDS_BASE}/${kind.toLowerCase()}/v1/${product}/cert_chain`;
