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
  for (const bad of ['a', 'abcde', 'ab cd', 'ab\ncd', 'ab=c', 'abc=d', 'ab*d', 'a===', '====', 'YQ==YQ==', 'YWJj\u00e9', 'YW=', 'Y===']) {
    assert.throws(() => fromBase64(bad, 'X'), { code: 'X' }, JSON.stringify(bad));
  }
  assert.throws(() => fromBase64(42 as unknown as string, 'X'), { code: 'X' });
});
