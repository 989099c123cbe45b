import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache } from './cache.ts';

test('BoundedCache keeps at most maxEntries, the oldest goes first; a value set again counts as new', () => {
  const c = new BoundedCache<number>(2);
  c.set('a', 1);
  c.set('b', 2);
  c.set('a', 3);
  c.set('c', 4);
  assert.deepEqual([c.get('a'), c.get('b'), c.get('c'), c.size], [3, undefined, 4, 2]);
  let made = 0;
  assert.equal(c.getOrSet('c', () => ++made), 4);
  assert.equal(c.getOrSet('d', () => ++made), 1);
  assert.equal(made, 1);
  assert.equal(c.get('a'), undefined);
});
