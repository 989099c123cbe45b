import { CloakError } from '../../lib/index.ts';
import { fitDigest } from '../binding.ts';
import {
  dcapOptionsFrom,
  dcapPlatformClaims,
  quoteBytesFrom,
  verifyDcapQuote,
  type DcapVerified,
  type SgxReportBody,
} from '../dcap/index.ts';
import type { CommonClaims } from '../claims.ts';
import type { EvidenceVerifier, VerifiedEvidence, VerifyContext } from '../types.ts';

const hex = (b: Buffer): string => b.toString('hex');

/** SGX attributes flags bit 1: DEBUG (the enclave's memory is readable by the host). */
export const enclaveIsDebug = (e: SgxReportBody): boolean => (e.attributes[0]! & 0x02) !== 0;

export function sgxClaims(v: DcapVerified, e: SgxReportBody): CommonClaims & Record<string, unknown> {
  return {
    measurement: hex(e.mrEnclave),
    init_data: hex(e.configId),
    quote_version: v.quote.header.version,
    mr_enclave: hex(e.mrEnclave),
    mr_signer: hex(e.mrSigner),
    isv_prod_id: e.isvProdId,
    isv_svn: e.isvSvn,
    attributes: hex(e.attributes),
    debug: enclaveIsDebug(e),
    misc_select: e.miscSelect,
    config_id: hex(e.configId),
    config_svn: e.configSvn,
    cpu_svn: hex(e.cpuSvn),
    report_data: hex(e.reportData),
    ...dcapPlatformClaims(v),
  };
}

/** Intel SGX (DCAP quote v3). Evidence: CoCo's `{"quote": base64}` or raw quote bytes. */
export const sgxVerifier: EvidenceVerifier = {
  tee: 'sgx',
  async verify(evidence: unknown, ctx: VerifyContext): Promise<VerifiedEvidence> {
    const opts = dcapOptionsFrom(ctx);
    const v = await verifyDcapQuote(quoteBytesFrom(evidence, 'SGX_EVIDENCE_MALFORMED'), 'sgx', opts);
    if (v.quote.body.kind !== 'sgx') throw new CloakError('DCAP_QUOTE_WRONG_TEE', 'this is not an SGX quote');
    const e = v.quote.body.sgx;
    return {
      tee: 'sgx',
      insecure: false,
      claims: sgxClaims(v, e),
      reportData: Buffer.from(e.reportData),
      initData: Buffer.from(e.configId),
    };
  },
  expectedReportData: (digest) => fitDigest(digest, 64),
  expectedInitData: (digest) => fitDigest(digest, 64),
};
