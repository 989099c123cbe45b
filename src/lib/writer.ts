/**
 * Builds binary structures field by field, the counterpart of ByteReader:
 * big- and little-endian integers, raw bytes and u16-length-prefixed bytes
 * (a TPM2B). Values out of a field's range throw (no silent truncation).
 */
export class ByteWriter {
  private readonly parts: Buffer[] = [];
  private length = 0;

  private push(b: Buffer): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  private int(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.allocUnsafe(size);
    write(b);
    return this.push(b);
  }

  get size(): number {
    return this.length;
  }
  bytes(b: Uint8Array): this {
    return this.push(Buffer.from(b));
  }
  u8(v: number): this {
    return this.int(1, (b) => b.writeUInt8(v));
  }
  u16be(v: number): this {
    return this.int(2, (b) => b.writeUInt16BE(v));
  }
  u32be(v: number): this {
    return this.int(4, (b) => b.writeUInt32BE(v));
  }
  u64be(v: bigint): this {
    return this.int(8, (b) => b.writeBigUInt64BE(v));
  }
  u16le(v: number): this {
    return this.int(2, (b) => b.writeUInt16LE(v));
  }
  u32le(v: number): this {
    return this.int(4, (b) => b.writeUInt32LE(v));
  }
  u64le(v: bigint): this {
    return this.int(8, (b) => b.writeBigUInt64LE(v));
  }
  /** A big-endian u16 length, then the bytes (a TPM2B; ByteReader.u16Sized reads it). */
  u16Sized(b: Uint8Array): this {
    return this.u16be(b.length).bytes(b);
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}
