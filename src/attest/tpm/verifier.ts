import { createHash } from 'node:crypto';
import { CloakError, padTo, toHex, type ErrorCode } from '../../lib/index.ts';
import { fitDigest } from '../binding.ts';
import type { CommonClaims } from '../claims.ts';
import type { EvidenceVerifier, TpmTrust, VerifiedEvidence, VerifyContext } from '../types.ts';
import { cacheSlot, derived } from '../cache.ts';
import { readAkPublic, spkiDer } from './public.ts';
import { readJsonBytes, readPcrValues, verifyTpmQuote, type VerifiedTpmQuote } from './quote.ts';

export type { TpmTrust };

/** CoCo's TPM attester zero-pads report-data to 64 bytes before quoting. */
export const TPM_REPORT_DATA_SIZE = 64;
/** PCR 8 holds the init-data digest (extended once from zero). */
export const INITDATA_PCR = 8;

const MALFORMED = 'TPM_EVIDENCE_MALFORMED';

/** CoCo `tpm` evidence: {ak_public: base64 DER SPKI, tpm_quote: {message: base64 TPMS_ATTEST, signature: base64 TPMT_SIGNATURE, pcrs: hex[]}}. */
export function parseTpmEvidence(evidence: unknown): {
  akPublic: string;
  message: Buffer;
  signature: Buffer;
  pcrs: Buffer[];
} {
  const e = asObject(evidence, 'tpm evidence');
  const q = asObject(e.tpm_quote, 'tpm_quote');
  if (typeof e.ak_public !== 'string' || e.ak_public.length > 16384)
    throw new CloakError(MALFORMED, 'tpm evidence needs "ak_public" (base64 DER or PEM)');
  return {
    akPublic: e.ak_public,
    message: readJsonBytes(q.message, MALFORMED, 'tpm_quote.message', 'base64', 4096),
    signature: readJsonBytes(q.signature, MALFORMED, 'tpm_quote.signature', 'base64', 4096),
    pcrs: readPcrValues(q.pcrs, MALFORMED),
  };
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new CloakError(MALFORMED, `${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** Evidence may arrive as the parsed JSON object or (CLI) as the file's bytes. */
export function evidenceAsJson(evidence: unknown, code: ErrorCode): unknown {
  if (typeof evidence === 'string' || Buffer.isBuffer(evidence) || evidence instanceof Uint8Array) {
    try {
      return JSON.parse(Buffer.from(evidence as Uint8Array | string).toString('utf8'));
    } catch (e) {
      throw new CloakError(code, 'evidence is not valid JSON', { cause: e });
    }
  }
  return evidence;
}

export function pcrClaims(pcrs: Array<Buffer | undefined>): Record<string, string> {
  return Object.fromEntries(pcrs.flatMap((p, i) => (p ? [[`pcr${String(i).padStart(2, '0')}`, toHex(p)]] : [])));
}

export function quoteClaims(q: VerifiedTpmQuote): Record<string, unknown> {
  return {
    qualified_signer: toHex(q.qualifiedSigner),
    extra_data: toHex(q.extraData),
    clock: q.clock.toString(),
    reset_count: q.resetCount,
    restart_count: q.restartCount,
    safe: q.safe,
    firmware_version: q.firmwareVersion.toString(16).padStart(16, '0'),
    pcr_selection: q.pcrSelection,
    pcr_digest: toHex(q.pcrDigest),
    signature_alg: q.signature.alg,
  };
}

/** The PCR 8 value after a single extend of `digest` from zero: SHA-256(0^32 ‖ digest). */
export function expectedInitDataPcr(digest: Buffer): Buffer | undefined {
  if (digest.length !== 32) return undefined;
  return createHash('sha256').update(Buffer.alloc(32)).update(digest).digest();
}

/**
 * How many bytes of the 48-byte KBS binding digest go into the quote's nonce.
 * CoCo's attesters put the whole SHA-384 digest there (the real `tpm` capture
 * holds 48 bytes zero-padded to 64, the az-snp-vtpm v2 capture 48 bytes), so
 * 48 keeps Cloak interoperable with CoCo guests; 32 is the other choice.
 */
export const VTPM_BINDING_BYTES = 48;

const akFingerprint = (ak: ReturnType<typeof readAkPublic>): string =>
  createHash('sha256').update(spkiDer(ak)).digest('hex');

/** The enrolled AKs' fingerprints; with a cache, computed once per list (the server's trust settings live as long as it does). */
const FINGERPRINTS = cacheSlot<Set<string>>('tpm.trusted-aks', 0);

export function makeTpmVerifier(opts: { bindingBytes?: 32 | 48 } = {}): EvidenceVerifier {
  const bindingBytes = opts.bindingBytes ?? VTPM_BINDING_BYTES;
  return {
    tee: 'tpm',
    async verify(evidence: unknown, ctx: VerifyContext): Promise<VerifiedEvidence> {
      const e = parseTpmEvidence(evidenceAsJson(evidence, MALFORMED));
      const ak = readAkPublic(e.akPublic);
      const trust: TpmTrust | undefined = ctx.trust?.tpm;
      const fingerprint = akFingerprint(ak);
      const trusted =
        trust?.trustedAks &&
        derived(
          ctx.cache,
          FINGERPRINTS,
          trust.trustedAks,
          () => new Set(trust.trustedAks.map((pem) => akFingerprint(readAkPublic(pem)))),
        );
      if (!trusted || !trusted.has(fingerprint)) {
        throw new CloakError(
          'TPM_AK_NOT_TRUSTED',
          `the attestation key (SPKI SHA-256 ${fingerprint}) is not an enrolled trusted AK; add its PEM to the TPM trusted-AK list`,
        );
      }
      const q = verifyTpmQuote(e, ak);
      return {
        tee: 'tpm',
        insecure: false,
        reportData: padTo(q.extraData, TPM_REPORT_DATA_SIZE),
        initData: q.pcrs[INITDATA_PCR],
        claims: {
          ak_sha256: fingerprint,
          quote: quoteClaims(q),
          ...pcrClaims(q.pcrs),
          init_data: q.pcrs[INITDATA_PCR] ? toHex(q.pcrs[INITDATA_PCR]) : undefined,
          report_data: toHex(q.extraData),
        } satisfies CommonClaims & Record<string, unknown>,
      };
    },
    expectedReportData(bindingDigest: Buffer): Buffer {
      return padTo(fitDigest(bindingDigest, bindingBytes), TPM_REPORT_DATA_SIZE);
    },
    expectedInitData: expectedInitDataPcr,
  };
}

export const tpmVerifier: EvidenceVerifier = makeTpmVerifier();
