import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache, cached, cacheSlot, derived, VerifyCache } from './cache.ts';

test('BoundedCache keeps at most maxEntries, the oldest goes first; a value set again counts as new', () => {
  const c = new BoundedCache<number>(2);
  c.set('a', 1);
  c.set('b', 2);
  c.set('a', 3);
  c.set('c', 4);
  assert.deepEqual([c.get('a'), c.get('b'), c.get('c'), c.size], [3, undefined, 4, 2]);
  let made = 0;
  assert.equal(
    c.getOrSet('c', () => ++made),
    4,
  );
  assert.equal(
    c.getOrSet('d', () => ++made),
    1,
  );
  assert.equal(made, 1);
  assert.equal(c.get('a'), undefined);
});

test('VerifyCache: one bounded cache per slot, values derived per owner object; without a cache nothing is kept', () => {
  const A = cacheSlot<number>('test.a', 1);
  const B = cacheSlot<string>('test.b', 2);
  const D = cacheSlot<number>('test.derived', 0);
  const cache = new VerifyCache();
  let made = 0;
  cached(cache, A, 'x', () => ++made);
  cached(cache, B, 'x', () => 'b');
  cached(cache, A, 'y', () => ++made);
  assert.deepEqual([cache.of(A).get('x'), cache.of(A).get('y'), cache.of(B).get('x')], [undefined, 2, 'b']);
  const owner = {};
  assert.equal(
    derived(cache, D, owner, () => ++made),
    3,
  );
  assert.equal(
    derived(cache, D, owner, () => ++made),
    3,
  );
  assert.equal(
    derived(cache, D, {}, () => ++made),
    4,
  );
  assert.equal(
    cached(undefined, A, 'y', () => ++made),
    5,
  );
  assert.equal(
    derived(undefined, D, owner, () => ++made),
    6,
  );
});
