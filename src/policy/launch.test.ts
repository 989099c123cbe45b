import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCloakError } from '../lib/index.ts';
import {
  appraise,
  checkLaunch,
  parseAttestationPolicy,
  DEFAULT_ATTESTATION_POLICY,
  NO_LAUNCH_PINS,
  type LaunchPins,
} from './index.ts';

const M = 'aa'.repeat(48);
const pins = (p: Partial<LaunchPins>): LaunchPins => ({ ...NO_LAUNCH_PINS, ...p });
const tdx = {
  mr_td: '11'.repeat(48),
  rtmr0: '20'.repeat(48),
  rtmr1: '21'.repeat(48),
  rtmr2: '22'.repeat(48),
  rtmr3: '23'.repeat(48),
};
const tpm = { pcr03: '03'.repeat(32), pcr09: '09'.repeat(32), pcr11: '0b'.repeat(32) };

test('launch pinning: table of TEE, claims and pins → pinned or the reason', () => {
  const table: Array<[string, string, boolean, Record<string, unknown>, Partial<LaunchPins>, boolean, RegExp | '']> = [
    ['snp pinned by snp', 'snp', false, { measurement: M }, { snp: [{ measurement: M }] }, true, ''],
    ['snp pinned by the legacy measurements list', 'snp', false, { measurement: M }, { measurements: [M] }, true, ''],
    [
      'snp not pinned',
      'snp',
      false,
      { measurement: M },
      {},
      false,
      /lists no referenceValues\.snp or referenceValues\.measurements for TEE snp; this evidence holds measurement a{96}/,
    ],
    [
      'snp pinned to another image',
      'snp',
      false,
      { measurement: M },
      { snp: [{ measurement: 'bb'.repeat(48) }] },
      false,
      /holds measurement a{96}, which is not in workload "w"'s referenceValues\.snp/,
    ],
    [
      'snp: every listed kind must match',
      'snp',
      false,
      { measurement: M },
      { snp: [{ measurement: M }], measurements: ['bb'] },
      false,
      /referenceValues\.measurements/,
    ],
    [
      'tdx: mr_td and rtmrs',
      'tdx',
      false,
      tdx,
      { tdx: [{ mr_td: tdx.mr_td, rtmr1: tdx.rtmr1, rtmr2: tdx.rtmr2 }] },
      true,
      '',
    ],
    [
      'tdx: another kernel (rtmr1)',
      'tdx',
      false,
      tdx,
      { tdx: [{ mr_td: tdx.mr_td, rtmr1: '99'.repeat(48), rtmr2: tdx.rtmr2 }] },
      false,
      /rtmr1 (21){48}, rtmr2/,
    ],
    [
      'tdx: one of two releases',
      'tdx',
      false,
      tdx,
      { tdx: [{ mr_td: '00'.repeat(48), rtmr1: tdx.rtmr1, rtmr2: tdx.rtmr2 }, { ...tdx }] },
      true,
      '',
    ],
    [
      'az-snp-vtpm: PCRs',
      'az-snp-vtpm',
      false,
      { measurement: M, tpm },
      { vtpm: [{ pcrs: { 3: tpm.pcr03, 9: tpm.pcr09 } }] },
      true,
      '',
    ],
    [
      'az-snp-vtpm: the paravisor measurement alone does not pin the guest',
      'az-snp-vtpm',
      false,
      { measurement: M, tpm },
      { snp: [{ measurement: M }] },
      false,
      /lists no referenceValues\.vtpm for TEE az-snp-vtpm; this evidence holds PCR 3 0{1}3/,
    ],
    [
      'az-snp-vtpm: PCRs and a listed SNP measurement that differs',
      'az-snp-vtpm',
      false,
      { measurement: M, tpm },
      { vtpm: [{ pcrs: { 9: tpm.pcr09 } }], snp: [{ measurement: 'bb'.repeat(48) }] },
      false,
      /referenceValues\.snp/,
    ],
    ['az-tdx-vtpm: PCRs', 'az-tdx-vtpm', false, { ...tdx, tpm }, { vtpm: [{ pcrs: { 11: tpm.pcr11 } }] }, true, ''],
    [
      'az-tdx-vtpm: another initrd (PCR 9)',
      'az-tdx-vtpm',
      false,
      { ...tdx, tpm },
      { vtpm: [{ pcrs: { 9: '00'.repeat(32) } }] },
      false,
      /not in workload "w"'s referenceValues\.vtpm/,
    ],
    ['tpm: nothing pinned is not asked', 'tpm', false, tpm, {}, false, ''],
    ['tpm: PCRs at the top of its claims', 'tpm', false, tpm, { vtpm: [{ pcrs: { 9: tpm.pcr09 } }] }, true, ''],
    ['sim: nothing pinned, nothing asked', 'sim', true, { measurement: M }, {}, false, ''],
    [
      'sim: pinned measurement must match',
      'sim',
      true,
      { measurement: M },
      { measurements: ['bb'] },
      false,
      /not in workload "w"'s referenceValues\.measurements/,
    ],
    [
      'an unknown hardware TEE cannot be pinned',
      'cca',
      false,
      {},
      {},
      false,
      /lists no reference value Cloak can check for TEE cca/,
    ],
  ];
  for (const [name, tee, insecure, claims, p, pinned, reason] of table) {
    const r = checkLaunch(tee, insecure, claims, pins(p), 'w');
    assert.equal(r.pinned, pinned, name);
    if (reason) assert.match(r.reason, reason, name);
    else assert.equal(r.reason, '', name);
    if (!pinned && reason)
      assert.match(r.reason, /release notes of your CoCo guest image, or measure your own peer-pod image build/, name);
  }
  // Without a manifest workload only the recorded reference values can pin.
  assert.match(
    checkLaunch('snp', false, { measurement: M }, NO_LAUNCH_PINS).reason,
    /the init-data names no manifest workload whose referenceValues\.snp or referenceValues\.measurements could pin TEE snp, and no recorded reference value does/,
  );
  assert.match(
    checkLaunch('snp', false, { measurement: M }, pins({ measurements: ['bb'] })).reason,
    /which is not in the recorded reference values/,
  );
  assert.equal(checkLaunch('snp', false, { measurement: M }, pins({ measurements: [M] })).pinned, true);
});

test('the default attestation policy: hardware evidence is affirming only when its launch is pinned', () => {
  const p = parseAttestationPolicy(DEFAULT_ATTESTATION_POLICY);
  const status = (
    tee: string,
    p2: Partial<LaunchPins>,
    claims: Record<string, unknown> = { measurement: M, debug: false },
  ) => {
    const launch = checkLaunch(tee, false, claims, pins(p2), 'w');
    return appraise(p, {
      tee,
      insecure: false,
      claims,
      init_data: {},
      refs: { launch: { required: launch.required, listed: launch.listed, pinned: launch.pinned } },
    }).status;
  };
  assert.equal(status('snp', { snp: [{ measurement: M }] }), 'affirming');
  assert.equal(status('snp', {}), 'warning');
  assert.equal(status('snp', { snp: [{ measurement: 'bb'.repeat(48) }] }), 'warning');
  assert.equal(status('tpm', {}, tpm), 'affirming', 'a bare TPM is trusted by its enrolled AK');
  assert.throws(
    () => status('snp', { snp: [{ measurement: M }] }, { measurement: M, debug: true }),
    (e) => isCloakError(e, 'POLICY_DEBUG_REFUSED'),
    'a debuggable hardware guest is refused, pinned or not',
  );
});
