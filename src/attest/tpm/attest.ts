import { ByteReader, ByteWriter, CloakError, type ErrorCode } from '../../lib/index.ts';
import { TPM_HASHES, MAX_PCR_BANKS, MAX_SELECT_BYTES, TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE } from './constants.ts';

/** One bank of a TPML_PCR_SELECTION: the hash algorithm and the PCR indices selected, ascending. */
export interface PcrBankSelection {
  hashAlg: number;
  pcrs: number[];
}

/** TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE (TPM 2.0 Part 2, 10.12.12). */
export interface TpmQuoteInfo {
  qualifiedSigner: Buffer;
  /** The caller's qualifying data: the nonce the quote is bound to. */
  extraData: Buffer;
  clock: bigint;
  resetCount: number;
  restartCount: number;
  safe: boolean;
  firmwareVersion: bigint;
  pcrSelection: PcrBankSelection[];
  pcrDigest: Buffer;
}

const CODE = 'TPM_QUOTE_MALFORMED';

/** Reads a TPML_PCR_SELECTION (shared with the agent's PCR_Read and Quote). */
export function readPcrSelection(r: ByteReader, code: ErrorCode = CODE): PcrBankSelection[] {
  const count = r.u32be('pcrSelection count');
  if (count > MAX_PCR_BANKS) throw new CloakError(code, `PCR selection has ${count} banks (at most ${MAX_PCR_BANKS})`);
  const banks: PcrBankSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16be('pcrSelection hash');
    const size = r.u8('sizeofSelect');
    if (size > MAX_SELECT_BYTES)
      throw new CloakError(code, `PCR selection bitmap is ${size} bytes (at most ${MAX_SELECT_BYTES})`);
    const bitmap = r.bytes(size, 'pcrSelect');
    const pcrs: number[] = [];
    for (let bit = 0; bit < size * 8; bit++) if (bitmap[bit >> 3]! & (1 << (bit & 7))) pcrs.push(bit);
    banks.push({ hashAlg, pcrs });
  }
  return banks;
}

/** Writes a TPML_PCR_SELECTION for one bank (3-byte bitmap: PCRs 0..23). */
export function encodePcrSelection(banks: PcrBankSelection[]): Buffer {
  const w = new ByteWriter().u32be(banks.length);
  for (const b of banks) {
    const bitmap = Buffer.alloc(3);
    for (const p of b.pcrs) {
      if (!Number.isInteger(p) || p < 0 || p > 23)
        throw new CloakError('TPM_PCR_INDEX', `PCR index ${p} is out of range 0..23`);
      bitmap[p >> 3]! |= 1 << (p & 7);
    }
    w.u16be(b.hashAlg).u8(3).bytes(bitmap);
  }
  return w.toBuffer();
}

/** Parses the signed quote message (TPMS_ATTEST); every length is bounded and trailing bytes are refused. */
export function parseTpmQuote(message: Buffer): TpmQuoteInfo {
  const r = new ByteReader(message, CODE, 'TPM quote (TPMS_ATTEST)');
  const magic = r.u32be('magic');
  if (magic !== TPM_GENERATED_VALUE)
    throw new CloakError(
      'TPM_QUOTE_MAGIC',
      `TPM quote magic is 0x${magic.toString(16)}, not 0xff544347 (TPM_GENERATED_VALUE)`,
    );
  const type = r.u16be('type');
  if (type !== TPM_ST_ATTEST_QUOTE)
    throw new CloakError(
      'TPM_QUOTE_TYPE',
      `TPMS_ATTEST type is 0x${type.toString(16)}, not TPM_ST_ATTEST_QUOTE (0x8018)`,
    );
  const qualifiedSigner = r.u16Sized(2 + 64, 'qualifiedSigner');
  const extraData = r.u16Sized(64, 'extraData');
  const clock = r.u64be('clock');
  const resetCount = r.u32be('resetCount');
  const restartCount = r.u32be('restartCount');
  const safe = r.u8('safe');
  if (safe > 1) throw new CloakError(CODE, `TPM quote clockInfo.safe is ${safe} (must be 0 or 1)`);
  const firmwareVersion = r.u64be('firmwareVersion');
  const pcrSelection = readPcrSelection(r);
  const pcrDigest = r.u16Sized(64, 'pcrDigest');
  if (r.remaining !== 0) throw new CloakError(CODE, `TPM quote has ${r.remaining} trailing bytes`);
  return {
    qualifiedSigner,
    extraData,
    clock,
    resetCount,
    restartCount,
    safe: safe === 1,
    firmwareVersion,
    pcrSelection,
    pcrDigest,
  };
}

export function tpmHash(alg: number, code: ErrorCode = 'TPM_HASH_UNSUPPORTED'): { name: string; size: number } {
  const h = TPM_HASHES[alg];
  if (!h) throw new CloakError(code, `TPM hash algorithm 0x${alg.toString(16)} is not supported`);
  return h;
}
