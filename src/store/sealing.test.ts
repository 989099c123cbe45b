import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isCloakError } from '../lib/index.ts';
import { seal, unseal } from './sealing.ts';

test('seal/unseal: round trip, fresh IV each time, AAD binds the row', () => {
  const key = randomBytes(32);
  const a = seal(key, 'resource:a/b/c', Buffer.from('secret'));
  const b = seal(key, 'resource:a/b/c', Buffer.from('secret'));
  assert.notDeepEqual(a, b, 'random IV: the same value never seals to the same bytes');
  assert.equal(a.length, 1 + 12 + 16 + 6);
  assert.deepEqual(unseal(key, 'resource:a/b/c', a), Buffer.from('secret'));
  assert.deepEqual(unseal(key, 'resource:a/b/c', seal(key, 'resource:a/b/c', Buffer.alloc(0))), Buffer.alloc(0));
  for (const [k, aad] of [
    [randomBytes(32), 'resource:a/b/c'],
    [key, 'resource:a/b/d'],
    [key, 'meta:a/b/c'],
  ] as const) {
    assert.throws(
      () => unseal(k, aad, a),
      (e) => isCloakError(e, 'STORE_UNSEAL_FAILED'),
    );
  }
});

test('unseal fuzz: truncations, byte flips and random bytes only ever throw STORE_UNSEAL_FAILED (seeded, 4000 runs)', () => {
  const key = Buffer.alloc(32, 7);
  const sealed = seal(key, 'meta:k', Buffer.from('a server secret of some length'));
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 4000; i++) {
    let b: Buffer;
    const mode = i % 3;
    if (mode === 0) b = sealed.subarray(0, Math.floor(next() * sealed.length));
    else if (mode === 1) {
      b = Buffer.from(sealed);
      b[Math.floor(next() * b.length)]! ^= 1 + Math.floor(next() * 255);
    } else b = Buffer.from(Array.from({ length: Math.floor(next() * 80) }, () => Math.floor(next() * 256)));
    assert.throws(
      () => unseal(key, 'meta:k', b),
      (e) => isCloakError(e, 'STORE_UNSEAL_FAILED'),
      `run ${i}`,
    );
  }
});
