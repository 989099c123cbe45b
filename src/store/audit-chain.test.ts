import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GENESIS_HASH, makeAuditRecord, verifyAuditChain } from './audit-chain.ts';
import type { AuditRecord } from './types.ts';
import { seededRandom } from '../lib/testing/mutator.ts';

/** A chain made in the test with makeAuditRecord (no database). */
function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      makeAuditRecord(
        {
          kind: i % 2 ? 'kbs.attest' : 'admin.resource.set',
          outcome: i % 3 ? 'ok' : 'refused',
          actor: 'admin',
          subject: `s${i}`,
          reason: i % 3 ? undefined : 'denied',
          details: { i, list: [i, 'x'] },
        },
        i + 1,
        out[i - 1]?.hash ?? GENESIS_HASH,
        new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      ),
    );
  }
  return out;
}

test('verifyAuditChain: table of tamperings', () => {
  const c = chain(8);
  const cases: Array<[string, AuditRecord[], { seq: number; reason: RegExp } | 'ok']> = [
    ['intact', c, 'ok'],
    ['empty', [], 'ok'],
    ['edited subject', c.map((r) => (r.seq === 4 ? { ...r, subject: 'forged' } : r)), { seq: 4, reason: /edited/ }],
    [
      'edited details',
      c.map((r) => (r.seq === 2 ? { ...r, details: { i: 99, list: [1, 'x'] } } : r)),
      { seq: 2, reason: /edited/ },
    ],
    [
      'edited outcome',
      c.map((r) => (r.seq === 1 ? { ...r, outcome: 'ok' as const } : r)),
      { seq: 1, reason: /edited/ },
    ],
    ['added reason', c.map((r) => (r.seq === 2 ? { ...r, reason: 'later excuse' } : r)), { seq: 2, reason: /edited/ }],
    [
      'rehashed edit (breaks the next link)',
      (() => {
        const e = c.map((r) => ({ ...r }));
        e[2] = makeAuditRecord({ kind: 'x', outcome: 'ok' }, 3, e[1]!.hash, new Date(0));
        return e;
      })(),
      { seq: 4, reason: /previous-hash/ },
    ],
    ['removed middle', c.filter((r) => r.seq !== 5), { seq: 5, reason: /missing/ }],
    ['removed first', c.slice(1), { seq: 1, reason: /missing/ }],
    ['swapped', [c[0]!, c[2]!, c[1]!, ...c.slice(3)], { seq: 2, reason: /missing/ }],
    ['duplicated', [c[0]!, c[1]!, c[1]!, ...c.slice(2)], { seq: 3, reason: /out of order/ }],
  ];
  for (const [name, records, want] of cases) {
    const got = verifyAuditChain(records);
    if (want === 'ok') {
      assert.deepEqual(got, { ok: true }, name);
      continue;
    }
    assert.equal(got.ok, false, name);
    if (!got.ok) {
      assert.equal(got.seq, want.seq, name);
      assert.match(got.reason, want.reason, name);
    }
  }
  assert.deepEqual(verifyAuditChain(c.slice(4), { after: { seq: 4, hash: c[3]!.hash } }), { ok: true });
  assert.equal(verifyAuditChain(c.slice(4), { after: { seq: 4, hash: c[2]!.hash } }).ok, false);
});

test('verifyAuditChain fuzz: random edits of JSON records are caught and never throw (seeded, 3000 runs)', () => {
  const c = chain(6);
  const text = JSON.stringify(c);
  const rand = seededRandom(0xc10a4);
  let caught = 0;
  for (let i = 0; i < 3000; i++) {
    const bytes = Buffer.from(text);
    const flips = 1 + rand(3);
    for (let f = 0; f < flips; f++) bytes[rand(bytes.length)] = 32 + rand(95);
    let records: unknown;
    try {
      records = JSON.parse(bytes.toString());
    } catch {
      continue;
    }
    const r = verifyAuditChain(records as AuditRecord[]);
    if (JSON.stringify(records) !== text && r.ok) {
      // A change that leaves every hashed field equal (e.g. a key order swap) is no edit; anything else must be caught.
      assert.deepEqual(JSON.parse(JSON.stringify(records)), c, `undetected edit in run ${i}`);
    }
    if (!r.ok) caught++;
  }
  assert.ok(caught > 1000, `only ${caught} mutations caught`);
  for (const junk of [null, 'x', 42, {}, [null], [1], [{ seq: 1 }], [{ ...c[0], details: 5n }]]) {
    assert.equal(verifyAuditChain(junk as never).ok, false, String(junk));
  }
});
