import { CloakError, type ErrorCode } from './errors.ts';

/**
 * A bounds-checked cursor over untrusted bytes. Every read checks that the
 * bytes exist and throws a CloakError with the caller's code otherwise.
 */
export class ByteReader {
  private pos = 0;
  constructor(
    readonly buf: Buffer,
    private readonly code: ErrorCode,
    private readonly what: string,
  ) {}

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new CloakError(
        this.code,
        `${this.what} is truncated: ${field} needs ${n} bytes at offset ${this.pos}, ${this.remaining} left`,
      );
    }
  }
  bytes(n: number, field = 'field'): Buffer {
    this.need(n, field);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** A big-endian u16 length of at most `max`, then that many bytes, copied (a TPM2B). */
  u16Sized(max: number, field = 'field'): Buffer {
    const n = this.u16be(`${field} size`);
    if (n > max) throw new CloakError(this.code, `${this.what}: ${field} is ${n} bytes (at most ${max})`);
    return Buffer.from(this.bytes(n, field));
  }
  skip(n: number, field = 'field'): void {
    this.need(n, field);
    this.pos += n;
  }
  u8(field = 'u8'): number {
    this.need(1, field);
    return this.buf.readUInt8(this.pos++);
  }
  u16le(field = 'u16'): number {
    this.need(2, field);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32le(field = 'u32'): number {
    this.need(4, field);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64le(field = 'u64'): bigint {
    this.need(8, field);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  u16be(field = 'u16'): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32be(field = 'u32'): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64be(field = 'u64'): bigint {
    this.need(8, field);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
}
