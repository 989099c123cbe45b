import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCloakError } from '../lib/index.ts';
import { readManifest } from './read.ts';
import { ownerManifestYaml } from './testing/owner-manifest.ts';

const H96 = 'ab'.repeat(48);
const H64 = 'cd'.repeat(32);
const doc = (referenceValues: unknown) => ownerManifestYaml([{ name: 'web', referenceValues }]);

test('launch reference values per TEE read into the model', () => {
  const w = readManifest(
    doc({
      initData: [H64],
      snp: [{ measurement: H96 }],
      tdx: [
        { mr_td: H96, rtmr1: H96, rtmr2: H96 },
        { mr_td: H96, rtmr0: H96, rtmr1: H96, rtmr2: H96, rtmr3: H96 },
      ],
      vtpm: [{ pcrs: { 3: H64, 9: H64, 11: H64 } }],
    }),
  ).workloads[0]!;
  assert.deepEqual(w.launch.snp, [{ measurement: H96 }]);
  assert.equal(w.launch.tdx.length, 2);
  assert.deepEqual(w.launch.vtpm, [{ pcrs: { 3: H64, 9: H64, 11: H64 } }]);
  assert.deepEqual(readManifest(doc({})).workloads[0]!.launch, { snp: [], tdx: [], vtpm: [] });
});

test('launch reference values that would pin nothing, or something else, are refused with the field named', () => {
  const table: Array<[string, unknown, RegExp]> = [
    [
      'PCR 8 (the init-data, pinned by initData)',
      { vtpm: [{ pcrs: { 8: H64 } }] },
      /referenceValues\.vtpm\[0\]\.pcrs\[8\] must be .*not 8/,
    ],
    ['PCR 24', { vtpm: [{ pcrs: { 24: H64 } }] }, /pcrs\[24\] must be a map of PCR index \(0\.\.23/],
    ['no PCR', { vtpm: [{ pcrs: {} }] }, /pcrs must be/],
    ['a SHA-384 value in the SHA-256 bank', { vtpm: [{ pcrs: { 9: H96 } }] }, /pcrs\[9\] must be 64 lower-case hex/],
    [
      'upper-case measurement',
      { snp: [{ measurement: H96.toUpperCase() }] },
      /snp\[0\]\.measurement must be 96 lower-case hex/,
    ],
    ['short measurement', { snp: [{ measurement: 'ab' }] }, /snp\[0\]\.measurement must be 96/],
    ['TDX without the kernel registers', { tdx: [{ mr_td: H96 }] }, /tdx\[0\]\.rtmr1 must be 96 lower-case hex/],
    ['a misspelt member', { tdx: [{ mr_td: H96, rtmr1: H96, rtmr2: H96, rtmr4: H96 }] }, /tdx\[0\](\.rtmr4)? must be/],
  ];
  for (const [name, rv, message] of table) {
    assert.throws(
      () => readManifest(doc(rv)),
      (e) =>
        isCloakError(e, 'MANIFEST_INVALID') &&
        (message.test((e as Error).message) || assert.fail(`${name}: ${(e as Error).message}`)),
      name,
    );
  }
});
