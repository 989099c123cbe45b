import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runVerifySubcommand } from './testing/run-command.ts';
import { readAkPublic } from '../attest/tpm/index.ts';
import type { SnpHardwareInput } from '../attest/azure/index.ts';
import { SNP_OFFSETS } from '../attest/snp/index.ts';
import type { VerifiedEvidence } from '../attest/index.ts';
import { verifyAzSnpVtpmCommand, verifyAzTdxVtpmCommand, verifyTpmCommand } from './verify-tpm.ts';
import { testdata } from '../lib/testing/testdata.ts';

const { dir: EV, skip } = testdata('evidence');

const run = runVerifySubcommand;

/** DELEGATED: a stand-in that does NOT check the SNP signature; it hands back the report-data field only. */
const snpReportDataNotSignatureChecked = async (i: SnpHardwareInput): Promise<VerifiedEvidence> => ({
  tee: 'snp',
  insecure: false,
  claims: {},
  reportData: Buffer.from(i.report.subarray(SNP_OFFSETS.reportData, SNP_OFFSETS.reportData + 64)),
});

test('cloak verify tpm: enrolled AK accepted, nonce checked, unenrolled AK refused', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-verify-tpm-'));
  try {
    const file = join(EV, 'tpm/tpm_evidence.json');
    const { default: ev } = await import(file, { with: { type: 'json' } });
    writeFileSync(join(dir, 'ak.pem'), readAkPublic(ev.ak_public).export({ format: 'pem', type: 'spki' }));
    const ok = await run(verifyTpmCommand(), [
      file,
      '--trusted-ak',
      join(dir, 'ak.pem'),
      '--json',
      '--nonce',
      Buffer.from(ev.tpm_quote.message, 'base64').subarray(44, 92).toString('hex'),
    ]);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(JSON.parse(ok.out).tee, 'tpm');
    const badNonce = await run(verifyTpmCommand(), [file, '--trusted-ak', join(dir, 'ak.pem'), '--nonce', '00']);
    assert.equal(badNonce.code, 1);
    assert.match(badNonce.err, /TPM_NONCE_MISMATCH/);
    const untrusted = await run(verifyTpmCommand(), [file]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.err, /TPM_AK_NOT_TRUSTED/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'cloak verify az-snp-vtpm / az-tdx-vtpm: without a hardware verifier the vTPM half verifies but the command fails; with one, nonce checked',
  { skip },
  async () => {
    const v1 = join(EV, 'az-snp-vtpm/evidence-v1.json');
    const none = await run(verifyAzSnpVtpmCommand(), [v1, '--json']);
    assert.equal(none.code, 1);
    assert.match(none.err, /AZ_HARDWARE_NOT_VERIFIED/);
    assert.equal(JSON.parse(none.out).code, 'AZ_HARDWARE_NOT_VERIFIED');
    assert.match(none.err, /vTPM half of v1 evidence verified/);
    const tdx = await run(verifyAzTdxVtpmCommand(), [join(EV, 'az-tdx-vtpm/evidence-v0.json')]);
    assert.match(tdx.err, /AZ_HARDWARE_NOT_VERIFIED/);
    const ok = await run(
      verifyAzSnpVtpmCommand(async () => snpReportDataNotSignatureChecked),
      [v1, '--at', '2025-02-01T00:00:00Z', '--nonce', Buffer.from('challenge').toString('hex'), '--json'],
    );
    assert.equal(ok.code, 0, ok.err);
    assert.equal(JSON.parse(ok.out).claims.evidence_version, 1);
    const bad = await run(
      verifyAzSnpVtpmCommand(async () => snpReportDataNotSignatureChecked),
      [v1, '--nonce', 'abcd'],
    );
    assert.match(bad.err, /AZ_NONCE_MISMATCH/);
    const badAt = await run(
      verifyAzSnpVtpmCommand(async () => snpReportDataNotSignatureChecked),
      [v1, '--at', 'yesterday'],
    );
    assert.equal(badAt.code, 2);
    assert.match(badAt.err, /USAGE_AT/);
  },
);
