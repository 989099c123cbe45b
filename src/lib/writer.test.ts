import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, type ErrorCode } from './index.ts';

test('ByteWriter writes what ByteReader reads back, field for field; out-of-range values throw', () => {
  const b = new ByteWriter()
    .u8(7)
    .u16be(0x1234)
    .u32be(0xdeadbeef)
    .u64be(1n << 40n)
    .u16le(0x4321)
    .u32le(5)
    .u64le(9n)
    .u16Sized(Buffer.from('tpm2b'))
    .bytes(Buffer.from([1, 2]))
    .toBuffer();
  const r = new ByteReader(b, 'TEST' as ErrorCode, 'the test buffer');
  assert.deepEqual(
    [
      r.u8(),
      r.u16be(),
      r.u32be(),
      r.u64be(),
      r.u16le(),
      r.u32le(),
      r.u64le(),
      r.u16Sized(16).toString(),
      [...r.bytes(2)],
      r.remaining,
    ],
    [7, 0x1234, 0xdeadbeef, 1n << 40n, 0x4321, 5, 9n, 'tpm2b', [1, 2], 0],
  );
  assert.throws(() => new ByteWriter().u16be(0x10000), RangeError);
  assert.throws(() => new ByteWriter().u16Sized(Buffer.alloc(0x10000)), RangeError);
});
