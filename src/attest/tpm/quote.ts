import { createHash, type KeyObject } from 'node:crypto';
import { CloakError, constantTimeEqual, fromBase64, toHex, type ErrorCode } from '../../lib/index.ts';
import { tpmHash, parseTpmQuote, type TpmQuoteInfo } from './attest.ts';
import { TPM_ALG } from './constants.ts';
import { readQuoteSignature, verifyTpmSignature, type TpmSignature } from './signature.ts';

export interface TpmQuoteInput {
  /** The TPMS_ATTEST bytes the TPM signed. */
  message: Buffer;
  /** TPMT_SIGNATURE, or the bare RSA signature (Azure evidence). */
  signature: Buffer;
  /** SHA-256 PCR values indexed by PCR number (CoCo sends all 24). */
  pcrs: Buffer[];
}

export interface VerifiedTpmQuote extends TpmQuoteInfo {
  signature: TpmSignature;
  /** Only the PCRs the quote covers (SHA-256 bank), by index; values supplied for other PCRs are dropped, not trusted. */
  pcrs: Array<Buffer | undefined>;
}

/**
 * Verifies a quote end to end against an attestation key already trusted by
 * the caller: the signature over the TPMS_ATTEST, then that the supplied PCR
 * values, taken in the quote's selection order, hash to the quoted digest.
 */
export function verifyTpmQuote(input: TpmQuoteInput, ak: KeyObject): VerifiedTpmQuote {
  const info = parseTpmQuote(input.message);
  const signature = readQuoteSignature(input.signature, ak);
  verifyTpmSignature(input.message, signature, ak);
  checkPcrDigest(info, input.pcrs, signature.hashAlg);
  const quoted = new Set(info.pcrSelection.flatMap((b) => b.pcrs));
  return { ...info, signature, pcrs: input.pcrs.map((v, i) => (quoted.has(i) ? v : undefined)) };
}

/** The quoted PCR digest is the signing hash over the selected PCR values, bank by bank, index ascending. */
export function checkPcrDigest(info: TpmQuoteInfo, pcrs: Buffer[], signHashAlg: number): void {
  const h = createHash(tpmHash(signHashAlg).name);
  for (const bank of info.pcrSelection) {
    if (bank.hashAlg !== TPM_ALG.SHA256)
      throw new CloakError(
        'TPM_PCR_BANK_UNSUPPORTED',
        `the quote selects PCR bank 0x${bank.hashAlg.toString(16)}; only SHA-256 PCR values are supplied`,
      );
    for (const i of bank.pcrs) {
      const v = pcrs[i];
      if (!v) throw new CloakError('TPM_PCR_MISSING', `the quote covers PCR ${i} but no value for it was supplied`);
      h.update(v);
    }
  }
  const digest = h.digest();
  if (!constantTimeEqual(digest, info.pcrDigest)) {
    throw new CloakError(
      'TPM_PCR_DIGEST_MISMATCH',
      `the PCR values hash to ${toHex(digest)}, but the quote holds ${toHex(info.pcrDigest)}`,
    );
  }
}

/** Decodes PCR values given as hex strings or byte arrays (CoCo v0 JSON); each must be 32 bytes (SHA-256 bank). */
export function readPcrValues(pcrs: unknown, code: ErrorCode): Buffer[] {
  if (!Array.isArray(pcrs) || pcrs.length === 0 || pcrs.length > 24)
    throw new CloakError(code, 'pcrs must be a list of 1 to 24 SHA-256 PCR values');
  return pcrs.map((p, i) => {
    const b = readJsonBytes(p, code, `PCR ${i}`, 'hex');
    if (b.length !== 32) throw new CloakError(code, `PCR ${i} is ${b.length} bytes, not 32 (SHA-256)`);
    return b;
  });
}

/** Bytes as JSON carries them: a hex or base64 string, or an array of 0..255 (serde's Vec<u8>). */
export function readJsonBytes(
  v: unknown,
  code: ErrorCode,
  what: string,
  encoding: 'hex' | 'base64' | 'base64url',
  max = 1 << 20,
): Buffer {
  if (Array.isArray(v)) {
    if (v.length > max || !v.every((x) => Number.isInteger(x) && x >= 0 && x <= 255))
      throw new CloakError(code, `${what} is not a byte array`);
    return Buffer.from(v as number[]);
  }
  if (typeof v !== 'string' || v.length > max * 2) throw new CloakError(code, `${what} must be a ${encoding} string`);
  if (encoding === 'hex') {
    if (v.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(v)) throw new CloakError(code, `${what} is not valid hex`);
    return Buffer.from(v, 'hex');
  }
  return fromBase64(v, code, what);
}
