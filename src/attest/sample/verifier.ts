import { CloakError, fromBase64 } from '../../lib/index.ts';
import type { EvidenceVerifier, VerifiedEvidence } from '../types.ts';

/**
 * CoCo's `sample` TEE: `{"svn":"1","report_data":"<base64>"}`. It proves
 * nothing (anyone can write it) and is accepted only when a policy allows
 * insecure TEEs.
 */
export const sampleVerifier: EvidenceVerifier = {
  tee: 'sample',
  async verify(evidence: unknown): Promise<VerifiedEvidence> {
    if (!evidence || typeof evidence !== 'object' || Array.isArray(evidence)) {
      throw new CloakError('SAMPLE_EVIDENCE_MALFORMED', 'sample evidence must be a JSON object {"svn","report_data"}');
    }
    const e = evidence as Record<string, unknown>;
    if (typeof e.report_data !== 'string')
      throw new CloakError('SAMPLE_EVIDENCE_MALFORMED', 'sample evidence lacks a base64 "report_data" string');
    const svn = e.svn === undefined ? '0' : String(e.svn);
    const reportData = fromBase64(e.report_data, 'SAMPLE_EVIDENCE_MALFORMED', 'sample report_data');
    return { tee: 'sample', insecure: true, reportData, claims: { svn, report_data: reportData.toString('hex') } };
  },
  expectedReportData: (digest) => Buffer.from(digest),
};
