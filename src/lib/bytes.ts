import { timingSafeEqual } from 'node:crypto';
import { CloakError } from './errors.ts';

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export function fromHex(s: string, code = 'BAD_HEX', what = 'value'): Buffer {
  const clean = s.startsWith('0x') ? s.slice(2) : s;
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new CloakError(code, `${what} is not valid hex`);
  return Buffer.from(clean, 'hex');
}

/** Decodes standard or URL-safe base64, with or without padding; rejects other characters. */
export function fromBase64(s: string, code = 'BAD_BASE64', what = 'value'): Buffer {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw new CloakError(code, `${what} is not valid base64`);
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
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
