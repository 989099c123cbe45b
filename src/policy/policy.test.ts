import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorKind, isCloakError } from '../lib/index.ts';
import { POLICY_ERRORS } from './errors.ts';
import {
  appraise,
  parseAttestationPolicy,
  parseResourcePolicy,
  allowsRelease,
  statusOf,
  tierOf,
  DEFAULT_ATTESTATION_POLICY,
  DEFAULT_RESOURCE_POLICY,
  INSECURE_DEV_ATTESTATION_POLICY,
} from './index.ts';

const input = (over: Record<string, unknown> = {}) => ({
  tee: 'snp',
  insecure: false,
  claims: { debug: false, measurement: 'aa' },
  init_data: {},
  refs: {},
  ...over,
});

test('AR4SI tiers and status', () => {
  assert.deepEqual([0, 1, -1, 2, 31, 32, 95, 96, 127, -128].map(tierOf), [
    'none',
    'none',
    'none',
    'affirming',
    'affirming',
    'warning',
    'warning',
    'contraindicated',
    'contraindicated',
    'contraindicated',
  ]);
  assert.equal(statusOf({}), 'none');
  assert.equal(statusOf({ hardware: 2, configuration: 33 }), 'warning');
});

test('default attestation policy: table of outcomes', () => {
  const p = parseAttestationPolicy(DEFAULT_ATTESTATION_POLICY);
  const table: Array<[string, Record<string, unknown>, string]> = [
    ['genuine, no reference values', {}, 'affirming'],
    ['measurement in refs', { refs: { measurements: ['aa'] } }, 'affirming'],
    ['measurement not in refs', { refs: { measurements: ['bb'] } }, 'warning'],
  ];
  for (const [name, over, status] of table) assert.equal(appraise(p, input(over)).status, status, name);
  assert.throws(
    () => appraise(p, input({ tee: 'sim', insecure: true })),
    (e) => isCloakError(e, 'POLICY_INSECURE_TEE'),
  );
  const dev = parseAttestationPolicy(INSECURE_DEV_ATTESTATION_POLICY);
  assert.equal(appraise(dev, input({ tee: 'sim', insecure: true })).status, 'affirming');
  assert.equal(
    appraise(dev, input({ tee: 'sim', insecure: true, claims: { debug: true } })).status,
    'contraindicated',
    'a debug simulated guest is rated, as before',
  );
});

test('the default attestation policy refuses, for every TEE alike, what the verifiers report: a debuggable guest, an unaccepted TCB status', () => {
  const p = parseAttestationPolicy(DEFAULT_ATTESTATION_POLICY);
  assert.equal(p.allowDebug, false);
  assert.deepEqual(p.acceptedTcbStatuses, ['UpToDate', 'SWHardeningNeeded']);
  // Claims as the verifiers report them (snp: the real Milan debug capture; sgx: the dcap-qvl capture's status and advisories).
  const table: Array<[string, Record<string, unknown>, string | RegExp]> = [
    [
      'snp debug guest',
      { tee: 'snp', claims: { debug: true, measurement: 'aa' } },
      /POLICY_DEBUG_REFUSED: the snp guest is debuggable .*relaunch without debug/,
    ],
    [
      'tdx debug TD',
      { tee: 'tdx', claims: { debug: true, tcb_status: 'UpToDate' } },
      /POLICY_DEBUG_REFUSED: the tdx guest is debuggable/,
    ],
    ['az-snp-vtpm debug guest', { tee: 'az-snp-vtpm', claims: { debug: true } }, /POLICY_DEBUG_REFUSED/],
    [
      'sgx ConfigurationAndSWHardeningNeeded',
      {
        tee: 'sgx',
        claims: {
          debug: false,
          tcb_status: 'ConfigurationAndSWHardeningNeeded',
          advisory_ids: ['INTEL-SA-00289', 'INTEL-SA-00615'],
        },
      },
      /POLICY_TCB_STATUS_REFUSED: the platform TCB status is ConfigurationAndSWHardeningNeeded \(INTEL-SA-00289, INTEL-SA-00615\), not one of UpToDate, SWHardeningNeeded/,
    ],
    [
      'tdx OutOfDate',
      { tee: 'tdx', claims: { debug: false, tcb_status: 'OutOfDate' } },
      /POLICY_TCB_STATUS_REFUSED: .*OutOfDate/,
    ],
    ['tdx SWHardeningNeeded', { tee: 'tdx', claims: { debug: false, tcb_status: 'SWHardeningNeeded' } }, 'affirming'],
    ['snp without a TCB status', { tee: 'snp', claims: { debug: false } }, 'affirming'],
  ];
  for (const [name, over, want] of table) {
    if (typeof want === 'string') {
      assert.equal(appraise(p, input(over)).status, want, name);
      continue;
    }
    assert.throws(
      () => appraise(p, input(over)),
      (e) => isCloakError(e) && errorKind(e, POLICY_ERRORS) === 'unauthorized' && want.test(`${e.code}: ${e.message}`),
      name,
    );
  }
  const relaxed = parseAttestationPolicy(
    'version: 1\nallowDebug: true\nacceptedTcbStatuses: [UpToDate, ConfigurationAndSWHardeningNeeded]\ntrustVector:\n  hardware: "2"\n',
  );
  assert.equal(appraise(relaxed, input({ tee: 'snp', claims: { debug: true } })).status, 'affirming');
  assert.equal(
    appraise(relaxed, input({ tee: 'sgx', claims: { tcb_status: 'ConfigurationAndSWHardeningNeeded' } })).status,
    'affirming',
  );
  assert.throws(
    () => appraise(relaxed, input({ tee: 'tdx', claims: { tcb_status: 'SWHardeningNeeded' } })),
    (e) => isCloakError(e, 'POLICY_TCB_STATUS_REFUSED'),
  );
  // A policy stored before these keys existed gets the same refusals.
  const older = parseAttestationPolicy('version: 1\ntrustVector:\n  hardware: "2"\n');
  assert.throws(
    () => appraise(older, input({ claims: { debug: true } })),
    (e) => isCloakError(e, 'POLICY_DEBUG_REFUSED'),
  );
  for (const bad of [
    'allowDebug: "yes"',
    'acceptedTcbStatuses: UpToDate',
    'acceptedTcbStatuses: [1]',
    'acceptedTcbStatuses: ["Up To Date"]',
  ]) {
    assert.throws(
      () => parseAttestationPolicy(`version: 1\n${bad}\n`),
      (e) => isCloakError(e, 'POLICY_INVALID'),
      bad,
    );
  }
});

test('allowInsecure names the insecure TEEs it admits: [sim] does not admit sample; the old boolean true is refused', () => {
  const sim = parseAttestationPolicy(INSECURE_DEV_ATTESTATION_POLICY);
  assert.deepEqual(sim.allowInsecure, ['sim']);
  assert.equal(appraise(sim, input({ tee: 'sim', insecure: true })).status, 'affirming');
  assert.throws(
    () => appraise(sim, input({ tee: 'sample', insecure: true })),
    (e) => isCloakError(e, 'POLICY_INSECURE_TEE') && /admits only sim/.test(e.message),
  );
  const both = parseAttestationPolicy('version: 1\nallowInsecure: [sim, sample]\ntrustVector:\n  hardware: "2"\n');
  assert.equal(appraise(both, input({ tee: 'sample', insecure: true })).status, 'affirming');
  assert.deepEqual(parseAttestationPolicy('version: 1\nallowInsecure: false\n').allowInsecure, []);
  assert.throws(
    () => parseAttestationPolicy('version: 1\nallowInsecure: true\n'),
    (e) => isCloakError(e, 'POLICY_INVALID') && /allowInsecure: \[sim\]/.test(e.message),
  );
  for (const bad of ['[snp]', '[simm]', '"sim"', '[1]', '{sim: true}']) {
    assert.throws(
      () => parseAttestationPolicy(`version: 1\nallowInsecure: ${bad}\n`),
      (e) => isCloakError(e, 'POLICY_INVALID'),
      bad,
    );
  }
});

test('attestation policy validation rejects what does not compile', () => {
  const bad = [
    'version: 2',
    'version: 1\ntrustVector:\n  hardware: "1 +"',
    'version: 1\ntrustVector:\n  nonsense: "2"',
    '[1,2]',
    'version: 1\nextra: 1',
    ': : :',
  ];
  for (const text of bad)
    assert.throws(
      () => parseAttestationPolicy(text),
      (e) => isCloakError(e, 'POLICY_INVALID'),
      text,
    );
  const p = parseAttestationPolicy('version: 1\ntrustVector:\n  hardware: \'"x"\'');
  assert.throws(
    () => appraise(p, input()),
    (e) => isCloakError(e, 'POLICY_EVALUATION'),
  );
});

test('resource policy', () => {
  const p = parseResourcePolicy(DEFAULT_RESOURCE_POLICY);
  const r = {
    tee: 'snp',
    insecure: false,
    trust_vector: {},
    claims: {},
    init_data: {},
    resource: { repository: 'default', type: 'key', tag: '1', path: 'default/key/1' },
  };
  assert.equal(allowsRelease(p, { ...r, status: 'affirming' }), true);
  assert.equal(allowsRelease(p, { ...r, status: 'warning' }), false);
  const byRepo = parseResourcePolicy('status == "affirming" && resource.repository == "default" && !insecure');
  assert.equal(allowsRelease(byRepo, { ...r, status: 'affirming' }), true);
  assert.throws(
    () => parseResourcePolicy('status =='),
    (e) => isCloakError(e, 'POLICY_INVALID'),
  );
  assert.throws(
    () => allowsRelease(parseResourcePolicy('"yes"'), { ...r, status: 'affirming' }),
    (e) => isCloakError(e, 'POLICY_EVALUATION'),
  );
});
