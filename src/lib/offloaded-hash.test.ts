import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { OffloadedHash } from './offloaded-hash.ts';

async function feed(h: OffloadedHash, data: Buffer, chunk: number): Promise<Buffer> {
  for (let off = 0; off < data.length; off += chunk) {
    if (!h.update(data.subarray(off, off + chunk))) await h.drained();
  }
  return h.digest();
}

test('offloaded SHA-256 and HMAC-SHA256 equal node:crypto at every size around the batch edges', async () => {
  const key = randomBytes(32);
  for (const size of [0, 1, 65536, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 17, 20 * (1 << 20)]) {
    const data = randomBytes(size);
    for (const chunk of [7919, 65536, 1 << 21]) {
      assert.deepEqual(
        await feed(new OffloadedHash(), data, chunk),
        createHash('sha256').update(data).digest(),
        `sha256 ${size}/${chunk}`,
      );
      assert.deepEqual(
        await feed(new OffloadedHash(key), data, chunk),
        createHmac('sha256', key).update(data).digest(),
        `hmac ${size}/${chunk}`,
      );
    }
  }
});

test('many offloaded hashes at once stay separate', async () => {
  const inputs = Array.from({ length: 7 }, (_, i) => randomBytes((i + 1) * (1 << 20) + i));
  const got = await Promise.all(inputs.map((d) => feed(new OffloadedHash(), d, 100_000)));
  got.forEach((g, i) => assert.deepEqual(g, createHash('sha256').update(inputs[i]!).digest()));
});

test('update after digest is refused with a typed error', async () => {
  const h = new OffloadedHash();
  h.update(Buffer.from('x'));
  await h.digest();
  assert.throws(() => h.update(Buffer.from('y')), { code: 'HASH_FINISHED' });
});

test('an abandoned hash lets the process exit and leaves the pool working', async () => {
  const h = new OffloadedHash();
  h.update(randomBytes(3 * (1 << 20)));
  h.abandon();
  const data = randomBytes(2 * (1 << 20) + 5);
  assert.deepEqual(await feed(new OffloadedHash(), data, 65536), createHash('sha256').update(data).digest());
});
