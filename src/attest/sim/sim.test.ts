import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isCloakError } from '../../lib/index.ts';
import {
  createSimHardware,
  simAttest,
  simVerifier,
  parseSimReport,
  serializeSimReport,
  SIM_REPORT_SIZE,
} from './index.ts';

const hw = await createSimHardware({ now: new Date('2026-01-01T00:00:00Z') });
const other = await createSimHardware({ now: new Date('2026-01-01T00:00:00Z') });
const now = new Date('2026-06-01T00:00:00Z');
const report = {
  version: 1,
  debug: false,
  tcb: 7n,
  measurement: createHash('sha384').update('app').digest(),
  hostData: createHash('sha256').update('init').digest(),
  reportData: Buffer.alloc(64, 9),
};
const ctx = { now, trust: { sim: { roots: [hw.rootCertPem] } } };

test('sim evidence from a trusted device verifies and yields claims', async () => {
  const v = await simVerifier.verify(simAttest(report, hw), ctx);
  assert.equal(v.insecure, true);
  assert.equal(v.claims.measurement, report.measurement.toString('hex'));
  assert.equal(v.claims.debug, false);
  assert.deepEqual(v.reportData, report.reportData);
  assert.deepEqual(v.initData, report.hostData);
});

const rejections: Array<[string, () => unknown, string]> = [
  ['untrusted root', () => simAttest(report, other), 'SIM_CHAIN_INVALID'],
  [
    'tampered report',
    () => {
      const e = simAttest(report, hw);
      const b = Buffer.from(e.report, 'base64');
      b[30]! ^= 1;
      return { ...e, report: b.toString('base64') };
    },
    'SIM_SIGNATURE_INVALID',
  ],
  [
    'signature from another device',
    () => ({ ...simAttest(report, other), cert_chain: [hw.deviceCertPem] }),
    'SIM_SIGNATURE_INVALID',
  ],
  ['not an object', () => 'x', 'SIM_EVIDENCE_MALFORMED'],
  ['bad base64', () => ({ ...simAttest(report, hw), report: '***' }), 'SIM_EVIDENCE_MALFORMED'],
  ['short report', () => ({ ...simAttest(report, hw), report: 'AAAA' }), 'SIM_REPORT_MALFORMED'],
  ['garbage certificate', () => ({ ...simAttest(report, hw), cert_chain: ['nope'] }), 'SIM_CERT_MALFORMED'],
];
for (const [name, make, code] of rejections) {
  test(`sim rejects: ${name}`, async () => {
    await assert.rejects(simVerifier.verify(make(), ctx), (e) => isCloakError(e, code));
  });
}

test('sim refuses when no root is trusted, and outside validity', async () => {
  await assert.rejects(simVerifier.verify(simAttest(report, hw), { now }), (e) => isCloakError(e, 'SIM_NOT_TRUSTED'));
  await assert.rejects(
    simVerifier.verify(simAttest(report, hw), { ...ctx, now: new Date('2045-01-01T00:00:00Z') }),
    (e) => isCloakError(e, 'SIM_CERT_EXPIRED'),
  );
});

test('sim report parser: round trip, and only CloakError on random mutations (fuzz)', () => {
  const bytes = serializeSimReport(report);
  assert.deepEqual(serializeSimReport(parseSimReport(bytes)), bytes);
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(bytes.subarray(0, rand() % (SIM_REPORT_SIZE + 8)));
    for (let k = 0; k < 3 && b.length; k++) b[rand() % b.length] = rand() & 0xff;
    try {
      parseSimReport(b);
    } catch (e) {
      assert.ok(isCloakError(e), String(e));
    }
  }
});
