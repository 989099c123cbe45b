import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { fromBase64 } from './bytes.ts';

test('fromBase64 decodes standard and URL-safe base64, padded or not', () => {
  for (let n = 0; n < 40; n++) {
    const b = randomBytes(n);
    assert.deepEqual(fromBase64(b.toString('base64')), b);
    assert.deepEqual(fromBase64(b.toString('base64url')), b);
    assert.deepEqual(fromBase64(b.toString('base64').replace(/=+$/, '')), b);
  }
});

test('fromBase64 refuses anything that is not base64', () => {
  for (const bad of [
    'a',
    'abcde',
    'ab cd',
    'ab\ncd',
    'ab=c',
    'abc=d',
    'ab*d',
    'a===',
    '====',
    'YQ==YQ==',
    'YWJj\u00e9',
    'YW=',
    'Y===',
  ]) {
    assert.throws(() => fromBase64(bad, 'INITDATA_ENCODING'), { code: 'INITDATA_ENCODING' }, JSON.stringify(bad));
  }
  assert.throws(() => fromBase64(42 as unknown as string, 'INITDATA_ENCODING'), { code: 'INITDATA_ENCODING' });
});

test('fromBase64 values of every size keep their own bytes (the 4–16 KiB ones share a slab) and are refused alike when broken', () => {
  const kept: [Buffer, Buffer][] = [];
  for (const n of [4095, 4096, 4097, 5006, 8191, 16384, 16385, 70000]) {
    for (let i = 0; i < 20; i++) {
      const b = randomBytes(n);
      kept.push([b, fromBase64(b.toString('base64'))]);
    }
    const text = randomBytes(n).toString('base64');
    for (const at of [0, Math.floor(text.length / 2), text.length - 3]) {
      assert.throws(
        () => fromBase64(text.slice(0, at) + '*' + text.slice(at + 1), 'INITDATA_ENCODING'),
        { code: 'INITDATA_ENCODING' },
        `${n} bytes, '*' at ${at}`,
      );
    }
  }
  for (const [b, decoded] of kept) assert.deepEqual(decoded, b);
});
