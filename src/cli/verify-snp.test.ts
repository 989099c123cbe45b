import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runVerifySubcommand } from './testing/run-command.ts';
import { verifySnpCommand } from './verify-snp.ts';
import { testdata } from '../lib/testing/testdata.ts';

const { dir: EV, skip } = testdata('evidence');

const run = (args: string[]) => runVerifySubcommand(verifySnpCommand(), args);

test(
  'cloak verify snp: real captures verify; each refusal exits 1 with its code and a sentence',
  { skip },
  async (t) => {
    const raw = join(EV, 'snp/attestation.bin');
    const vek = join(EV, 'snp/vcek.der');
    const coco = join(EV, 'coco/snp-evidence.json');
    const rd = '7e73208896' + '00';
    const rows: { name: string; args: string[]; code: number; match: RegExp }[] = [
      {
        name: 'raw report + --vek, debug allowed',
        args: [raw, '--vek', vek, '--at', '2026-01-01T00:00:00Z', '--allow-debug'],
        code: 0,
        match: /Milan chip, VCEK chain/,
      },
      {
        name: 'raw report refused as a debug guest',
        args: [raw, '--vek', vek, '--at', '2026-01-01T00:00:00Z'],
        code: 1,
        match: /POLICY_DEBUG_REFUSED: .*relaunch without debug/,
      },
      {
        name: 'expired at --at',
        args: [raw, '--vek', vek, '--at', '2030-01-01T00:00:00Z', '--allow-debug'],
        code: 1,
        match: /SNP_CERT_EXPIRED/,
      },
      { name: 'no VEK', args: [raw, '--at', '2026-01-01T00:00:00Z'], code: 1, match: /SNP_VEK_MISSING: .*--vek/ },
      { name: 'CoCo evidence', args: [coco, '--at', '2026-01-01T00:00:00Z'], code: 0, match: /Genoa chip/ },
      {
        name: 'CoCo evidence, report-data mismatch',
        args: [coco, '--at', '2026-01-01T00:00:00Z', '--report-data', rd],
        code: 1,
        match: /SNP_REPORT_DATA_MISMATCH/,
      },
      {
        name: 'CoCo evidence, host-data mismatch',
        args: [coco, '--at', '2026-01-01T00:00:00Z', '--host-data', '01'],
        code: 1,
        match: /SNP_HOST_DATA_MISMATCH/,
      },
      { name: 'bad --at', args: [coco, '--at', 'yesterday'], code: 2, match: /USAGE_AT/ },
      { name: 'missing file', args: [join(EV, 'nope.bin')], code: 2, match: /USAGE_FILE/ },
    ];
    for (const row of rows) {
      await t.test(row.name, async () => {
        const r = await run(row.args);
        assert.equal(r.code, row.code, r.err);
        assert.match(r.err, row.match);
      });
    }
    const json = await run([coco, '--at', '2026-01-01T00:00:00Z', '--json', '--host-data', '00'.repeat(32)]);
    assert.equal(json.code, 0, json.err);
    const parsed = JSON.parse(json.out);
    assert.equal(parsed.ok, true);
    assert.equal(parsed.tee, 'snp');
    assert.equal(parsed.claims.product, 'Genoa');
    assert.equal(parsed.claims.policy.debug_allowed, false);
  },
);

test('cloak verify snp --collateral: the VCEK comes from an offline KDS mirror', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-verify-snp-'));
  try {
    const { default: ev } = await import(join(EV, 'coco/snp-evidence.json'), { with: { type: 'json' } });
    const report = join(dir, 'evidence.json');
    writeFileSync(report, JSON.stringify({ ...ev, cert_chain: null }));
    const missing = await run([report, '--at', '2026-01-01T00:00:00Z', '--collateral', dir]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /SNP_VEK_MISSING/);
    const { vcekUrl, parseSnpEvidence, parseReport, decodeTcb } = await import('../attest/snp/index.ts');
    const parsed = parseReport(parseSnpEvidence(JSON.parse(JSON.stringify(ev))).report);
    const u = new URL(vcekUrl('Genoa', parsed, decodeTcb(parsed.reportedTcbRaw, false)));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, u.host, 'vcek/v1/Genoa'), { recursive: true });
    writeFileSync(join(dir, u.host, u.pathname), Buffer.from(ev.cert_chain[0].data));
    const ok = await run([report, '--at', '2026-01-01T00:00:00Z', '--collateral', dir]);
    assert.equal(ok.code, 0, ok.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cloak verify snp --help has an example', () => {
  let help = '';
  verifySnpCommand()
    .configureOutput({
      writeOut: (s) => {
        help += s;
      },
    })
    .outputHelp();
  assert.match(help, /Examples:\n\s+cloak verify snp /);
});
