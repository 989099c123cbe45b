import { timingSafeEqual } from 'node:crypto';
import { CloakError, type ErrorCode } from './errors.ts';

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export function fromHex(s: string, code: ErrorCode = 'BAD_HEX', what = 'value'): Buffer {
  const clean = s.startsWith('0x') ? s.slice(2) : s;
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new CloakError(code, `${what} is not valid hex`);
  return Buffer.from(clean, 'hex');
}

/** Decodes standard or URL-safe base64, with or without padding; rejects other characters. */
export function fromBase64(s: string, code: ErrorCode = 'BAD_BASE64', what = 'value'): Buffer {
  // Node decodes both alphabets and silently skips anything else, so a skipped
  // character (whitespace, stray '=', other symbols) shows up as a short result.
  if (typeof s !== 'string') throw new CloakError(code, `${what} is not valid base64`);
  let end = s.length;
  if (s.endsWith('==')) end -= 2;
  else if (s.endsWith('=')) end -= 1;
  const size = Math.floor((end * 3) / 4);
  if (end % 4 === 1 || (end < s.length && s.length % 4 !== 0))
    throw new CloakError(code, `${what} is not valid base64`);
  const out = decodeTarget(size);
  if (out.write(s, 0, size, 'base64') !== size) throw new CloakError(code, `${what} is not valid base64`);
  return out;
}

/**
 * Room for a decoded value. Between 4 and 16 KiB (CoCo evidence: a DCAP quote
 * with its PCK chain) it is cut from a shared 64 KiB slab, as Node's own pool
 * does below 4 KiB: a fresh ArrayBuffer per value costs more than decoding
 * it. The caller writes every byte.
 */
const SLAB_SIZE = 64 * 1024;
let slab = Buffer.alloc(0);
let slabUsed = 0;
function decodeTarget(size: number): Buffer {
  if (size < 4096 || size > SLAB_SIZE / 4) return Buffer.allocUnsafe(size);
  if (slabUsed + size > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += (size + 7) & ~7;
  return out;
}

export const toBase64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
export const toBase64Url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** Constant-time equality that is false (not throwing) for different lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Zero-pads (or rejects) `b` to exactly `len` bytes. */
export function padTo(b: Uint8Array, len: number): Buffer {
  if (b.length > len) throw new CloakError('BYTES_TOO_LONG', `value of ${b.length} bytes does not fit in ${len}`);
  const out = Buffer.alloc(len);
  out.set(b);
  return out;
}

export const isAllZero = (b: Uint8Array): boolean => b.every((x) => x === 0);
