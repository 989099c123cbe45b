import { CloakError } from '../../lib/index.ts';
import { fitDigest } from '../binding.ts';
import {
  dcapOptionsFrom,
  dcapPlatformClaims,
  quoteBytesFrom,
  verifyDcapQuote,
  type DcapVerified,
  type TdReportBody,
} from '../dcap/index.ts';
import type { CommonClaims } from '../claims.ts';
import type { EvidenceVerifier, VerifiedEvidence, VerifyContext } from '../types.ts';

const hex = (b: Buffer): string => b.toString('hex');

/** TD attributes bit 0: the TD is debuggable (its memory is readable by the host). */
export const tdIsDebug = (td: TdReportBody): boolean => (td.tdAttributes[0]! & 0x01) !== 0;

export function tdxClaims(v: DcapVerified, td: TdReportBody): CommonClaims & Record<string, unknown> {
  return {
    measurement: hex(td.mrTd),
    init_data: hex(td.mrConfigId),
    quote_version: v.quote.header.version,
    body: v.quote.body.kind,
    mr_td: hex(td.mrTd),
    rtmr0: hex(td.rtmrs[0]!),
    rtmr1: hex(td.rtmrs[1]!),
    rtmr2: hex(td.rtmrs[2]!),
    rtmr3: hex(td.rtmrs[3]!),
    mr_config_id: hex(td.mrConfigId),
    mr_owner: hex(td.mrOwner),
    mr_owner_config: hex(td.mrOwnerConfig),
    mr_seam: hex(td.mrSeam),
    tee_tcb_svn: hex(td.teeTcbSvn),
    ...(td.mrServiceTd ? { mr_servicetd: hex(td.mrServiceTd), tee_tcb_svn2: hex(td.teeTcbSvn2!) } : {}),
    td_attributes: hex(td.tdAttributes),
    debug: tdIsDebug(td),
    xfam: hex(td.xfam),
    report_data: hex(td.reportData),
    ...dcapPlatformClaims(v),
  };
}

/** Intel TDX (DCAP quote v4/v5). Evidence: CoCo's `{"quote": base64, "cc_eventlog": …}` or raw quote bytes. */
export const tdxVerifier: EvidenceVerifier = {
  tee: 'tdx',
  async verify(evidence: unknown, ctx: VerifyContext): Promise<VerifiedEvidence> {
    const opts = dcapOptionsFrom(ctx);
    const v = await verifyDcapQuote(quoteBytesFrom(evidence, 'TDX_EVIDENCE_MALFORMED'), 'tdx', opts);
    if (v.quote.body.kind === 'sgx') throw new CloakError('DCAP_QUOTE_WRONG_TEE', 'this is not a TDX quote');
    const td = v.quote.body.td;
    return {
      tee: 'tdx',
      insecure: false,
      claims: tdxClaims(v, td),
      reportData: Buffer.from(td.reportData),
      initData: Buffer.from(td.mrConfigId),
    };
  },
  expectedReportData: (digest) => fitDigest(digest, 64),
  expectedInitData: (digest) => fitDigest(digest, 48),
};
