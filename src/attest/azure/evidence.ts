import { CloakError } from '../../lib/index.ts';
import { readJsonBytes, readPcrValues, type TpmQuoteInput } from '../tpm/index.ts';

/**
 * CoCo's Azure vTPM evidence, as its attesters send it:
 * - v0 (no "version"): SNP {quote:{signature,message,pcrs}, report, vcek: PEM}; TDX {tpm_quote, hcl_report, td_quote};
 *   byte fields are JSON arrays of numbers (serde Vec<u8>).
 * - v1 / v2: {version, tpm_quote:{signature,message,pcrs} hex, hcl_report base64url, vcek (SNP) | td_quote (TDX) base64url}.
 *   v2 also binds the report-data into the HCL runtime claims' `user-data`.
 */
export interface AzEvidence {
  version: 0 | 1 | 2;
  quote: TpmQuoteInput;
  hcl: Buffer;
  /** SNP: the VCEK, DER. */
  vcek?: Buffer;
  /** TDX: the TD quote over the TDREPORT. */
  tdQuote?: Buffer;
}

const CODE = 'AZ_EVIDENCE_MALFORMED';

function obj(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new CloakError(CODE, `${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

function quote(v: unknown, enc: 'hex'): TpmQuoteInput {
  const q = obj(v, 'tpm_quote');
  return {
    message: readJsonBytes(q.message, CODE, 'tpm_quote.message', enc, 4096),
    signature: readJsonBytes(q.signature, CODE, 'tpm_quote.signature', enc, 4096),
    pcrs: readPcrValues(q.pcrs, CODE),
  };
}

function pemToDer(pem: unknown): Buffer {
  if (typeof pem !== 'string' || pem.length > 65536) throw new CloakError(CODE, '"vcek" must be a PEM certificate');
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new CloakError(CODE, '"vcek" is not a PEM certificate');
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

function version(e: Record<string, unknown>): 0 | 1 | 2 {
  if (e.version === undefined) return 0;
  if (e.version === 1 || e.version === 2) return e.version;
  throw new CloakError(
    'AZ_EVIDENCE_VERSION',
    `Azure vTPM evidence version ${JSON.stringify(e.version)} is not supported (0, 1, 2)`,
  );
}

export function parseAzSnpEvidence(evidence: unknown): AzEvidence {
  const e = obj(evidence, 'az-snp-vtpm evidence');
  const v = version(e);
  if (v === 0) {
    return {
      version: 0,
      quote: quote(e.quote, 'hex'),
      hcl: readJsonBytes(e.report, CODE, 'report', 'hex', 65536),
      vcek: pemToDer(e.vcek),
    };
  }
  return {
    version: v,
    quote: quote(e.tpm_quote, 'hex'),
    hcl: readJsonBytes(e.hcl_report, CODE, 'hcl_report', 'base64url', 65536),
    vcek: readJsonBytes(e.vcek, CODE, 'vcek', 'base64url', 65536),
  };
}

export function parseAzTdxEvidence(evidence: unknown): AzEvidence {
  const e = obj(evidence, 'az-tdx-vtpm evidence');
  const v = version(e);
  const enc = v === 0 ? 'hex' : 'base64url';
  return {
    version: v,
    quote: quote(e.tpm_quote, 'hex'),
    hcl: readJsonBytes(e.hcl_report, CODE, 'hcl_report', enc, 65536),
    tdQuote: readJsonBytes(e.td_quote, CODE, 'td_quote', enc, 65536),
  };
}
