import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isCloakError } from '../../lib/index.ts';
import { directoryCollateral } from '../collateral/index.ts';
import type { VerifyContext } from '../types.ts';
import {
  AMD_ROOTS,
  crlUrl,
  decodeTcb,
  parsedRoots,
  parseReport,
  parseVek,
  reportFromJson,
  snpVerifier,
  SNP_OFFSETS,
  SIGNED_LENGTH,
  vcekUrl,
  type SnpPolicy,
  type SnpTrust,
} from './index.ts';
import { makeSelfMadeChain, makeSelfMadeCrl, makeSelfMadeReport, type SelfMadeChain } from './testdata/self-made.ts';
import { testdata } from '../../lib/testing/testdata.ts';

const { dir: EV, skip } = testdata('evidence');
// Without the captures these stay empty and the tests that read them are skipped (the SELF-MADE ones still run).
const MILAN_REPORT = skip ? Buffer.alloc(0) : readFileSync(join(EV, 'snp/attestation.bin'));
const MILAN_VCEK = skip ? Buffer.alloc(0) : readFileSync(join(EV, 'snp/vcek.der'));
const COCO = (skip ? {} : JSON.parse(readFileSync(join(EV, 'coco/snp-evidence.json'), 'utf8'))) as {
  attestation_report: Record<string, unknown>;
  cert_chain: { cert_type: string; data: number[] }[];
};
const AT = new Date('2026-01-01T00:00:00Z');

const ctx = (snp: SnpTrust = {}, now = AT, extra: Partial<VerifyContext> = {}): VerifyContext => ({
  now,
  trust: { snp },
  ...extra,
});
/** The real Milan capture is a guest launched with debug allowed (policy 0xb0000): reported as `debug: true`, refused by the attestation policy, not here. */
const milan = (snp: SnpTrust = {}, now = AT): VerifyContext => ctx({ vek: MILAN_VCEK, ...snp }, now);

async function rejects(p: Promise<unknown>, code: string | string[]): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(isCloakError(e), `not a CloakError: ${String(e)}`);
    const codes = Array.isArray(code) ? code : [code];
    assert.ok(codes.includes(e.code), `got ${e.code} (${e.message}), want ${codes.join('|')}`);
    return e.code;
  }
  assert.fail(`accepted; want ${String(code)}`);
}

test('real captures verify as of a time inside the VCEK validity (AMD roots, pinned)', { skip }, async (t) => {
  const cases: { name: string; evidence: unknown; ctx: VerifyContext; product: string; tcb: Record<string, number> }[] =
    [
      {
        name: 'snp/attestation.bin + vcek.der (Milan, v2)',
        evidence: MILAN_REPORT,
        ctx: milan(),
        product: 'Milan',
        tcb: { bootloader: 2, tee: 0, snp: 5, microcode: 68 },
      },
      {
        name: 'coco/snp-evidence.json (Genoa, v3, VCEK in cert_chain)',
        evidence: COCO,
        ctx: ctx(),
        product: 'Genoa',
        tcb: { bootloader: 10, tee: 0, snp: 23, microcode: 25 },
      },
      {
        name: 'coco/snp-evidence.json as JSON text bytes',
        evidence: Buffer.from(JSON.stringify(COCO)),
        ctx: ctx(),
        product: 'Genoa',
        tcb: { bootloader: 10, tee: 0, snp: 23, microcode: 25 },
      },
      {
        name: 'az-snp-vtpm/hcl-report.bin SNP report + vcek.pem (Milan)',
        evidence: readFileSync(join(EV, 'az-snp-vtpm/hcl-report.bin')).subarray(32, 32 + 1184),
        ctx: ctx({ vek: readFileSync(join(EV, 'az-snp-vtpm/vcek.pem'), 'utf8') }, new Date('2025-02-01T00:00:00Z')),
        product: 'Milan',
        tcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 },
      },
    ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const v = await snpVerifier.verify(c.evidence, c.ctx);
      assert.equal(v.tee, 'snp');
      assert.equal(v.insecure, false);
      assert.equal(v.claims.product, c.product);
      assert.equal(v.claims.vek, 'VCEK');
      const tcb = v.claims.reported_tcb as Record<string, number>;
      for (const [k, n] of Object.entries(c.tcb)) assert.equal(tcb[k], n, k);
      assert.equal(v.reportData.length, 64);
      assert.equal(v.initData?.length, 32);
      assert.equal(v.claims.report_data, v.reportData.toString('hex'));
    });
  }
  const coco = await snpVerifier.verify(COCO, ctx());
  assert.deepEqual([...coco.reportData], COCO.attestation_report.report_data);
  assert.deepEqual(coco.claims.cpuid, { family: 0x19, model: 0xa0, stepping: 2 });
  assert.equal(coco.claims.current_version, '1.55.40');
});

test('binding helpers: report-data zero-padded to 64, host-data fitted to 32', () => {
  const d48 = Buffer.alloc(48, 7);
  assert.deepEqual(snpVerifier.expectedReportData(d48), Buffer.concat([d48, Buffer.alloc(16)]));
  assert.deepEqual(snpVerifier.expectedInitData!(Buffer.alloc(32, 1)), Buffer.alloc(32, 1));
  assert.deepEqual(snpVerifier.expectedInitData!(Buffer.alloc(48, 2)), Buffer.alloc(32, 2));
});

test(
  'AMD roots: every product parses, ARK self-signed and pinned, ASK/ASVK issued by it; a wrong pin is refused',
  { skip },
  async () => {
    for (const r of Object.values(AMD_ROOTS)) {
      const p = parsedRoots(r);
      assert.match(p.ask.subject, new RegExp(`SEV-${r.product}`));
      assert.match(p.asvk.subject, new RegExp(`SEV-VLEK-${r.product}`));
    }
    const badPin = { ...AMD_ROOTS.Milan, arkSha256: '00'.repeat(32) };
    await rejects(snpVerifier.verify(MILAN_REPORT, milan({ roots: { Milan: badPin } })), 'SNP_ROOT_PIN');
  },
);

test(
  'flipping any byte of the signed region is rejected (signature, or the reserved/structure check first)',
  { skip },
  async () => {
    const structural = new Set([
      SNP_OFFSETS.version,
      SNP_OFFSETS.version + 1,
      SNP_OFFSETS.version + 2,
      SNP_OFFSETS.version + 3,
      SNP_OFFSETS.sigAlgo,
      SNP_OFFSETS.sigAlgo + 1,
      SNP_OFFSETS.sigAlgo + 2,
      SNP_OFFSETS.sigAlgo + 3,
      SNP_OFFSETS.keyInfo,
      SNP_OFFSETS.policy + 2,
    ]);
    const reserved = (i: number): boolean =>
      (i >= SNP_OFFSETS.reserved0 && i < SNP_OFFSETS.reportData) ||
      (i >= SNP_OFFSETS.cpuidFamId && i < SNP_OFFSETS.chipId) ||
      i === SNP_OFFSETS.reserved2 ||
      i === SNP_OFFSETS.reserved3 ||
      (i >= SNP_OFFSETS.launchMitVector && i < SIGNED_LENGTH) ||
      (i > SNP_OFFSETS.keyInfo && i < SNP_OFFSETS.keyInfo + 4);
    let signature = 0;
    for (let i = 0; i < SIGNED_LENGTH; i++) {
      const r = Buffer.from(MILAN_REPORT);
      r[i]! ^= 0x01;
      const want = reserved(i)
        ? 'SNP_REPORT_MALFORMED'
        : structural.has(i)
          ? [
              'SNP_REPORT_MALFORMED',
              'SNP_SIGNATURE_INVALID',
              'SNP_VEK_KIND_MISMATCH',
              'SNP_REPORT_UNSIGNED',
              'SNP_PRODUCT_UNKNOWN',
            ]
          : 'SNP_SIGNATURE_INVALID';
      if ((await rejects(snpVerifier.verify(r, milan()), want)) === 'SNP_SIGNATURE_INVALID') signature++;
    }
    assert.ok(signature > 450, `${signature} flips caught by the signature`);
  },
);

test(
  'flipping any byte of the signature (r, s) gives SNP_SIGNATURE_INVALID; of the reserved tail, SNP_REPORT_MALFORMED',
  { skip },
  async () => {
    for (let i = SNP_OFFSETS.signatureR; i < SNP_OFFSETS.signatureReserved; i++) {
      const r = Buffer.from(MILAN_REPORT);
      r[i]! ^= 0x80;
      await rejects(snpVerifier.verify(r, milan()), 'SNP_SIGNATURE_INVALID');
    }
    for (const i of [SNP_OFFSETS.signatureReserved, 0x4a0 - 1]) {
      const r = Buffer.from(MILAN_REPORT);
      r[i]! ^= 0x01;
      await rejects(snpVerifier.verify(r, milan()), 'SNP_REPORT_MALFORMED');
    }
  },
);

test('flipping any byte of the VCEK is rejected with a VEK code', { skip }, async () => {
  const seen = new Map<string, number>();
  for (let i = 0; i < MILAN_VCEK.length; i++) {
    const vek = Buffer.from(MILAN_VCEK);
    vek[i]! ^= 0x01;
    const code = await rejects(snpVerifier.verify(MILAN_REPORT, milan({ vek })), [
      'SNP_VEK_MALFORMED',
      'SNP_VEK_SIGNATURE_INVALID',
    ]);
    seen.set(code, (seen.get(code) ?? 0) + 1);
  }
  assert.ok((seen.get('SNP_VEK_SIGNATURE_INVALID') ?? 0) > 1000, JSON.stringify([...seen]));
});

test('chain, validity, TCB and product refusals (real captures mutated in memory)', { skip }, async (t) => {
  const cocoWith = (der: Buffer): unknown => ({ ...COCO, cert_chain: [{ cert_type: 'VCEK', data: [...der] }] });
  const table: { name: string; run: () => Promise<unknown>; code: string }[] = [
    {
      name: 'Genoa report with the Milan VCEK: wrong product chain',
      run: () => snpVerifier.verify(cocoWith(MILAN_VCEK), ctx()),
      code: 'SNP_PRODUCT_MISMATCH',
    },
    {
      name: 'Genoa report, only Milan roots trusted',
      run: () => snpVerifier.verify(COCO, ctx({ roots: { Milan: AMD_ROOTS.Milan } })),
      code: 'SNP_PRODUCT_UNTRUSTED',
    },
    {
      name: 'Milan report, only Genoa roots trusted',
      run: () => snpVerifier.verify(MILAN_REPORT, milan({ roots: { Genoa: AMD_ROOTS.Genoa } })),
      code: 'SNP_VEK_SIGNATURE_INVALID',
    },
    {
      name: 'expired at --at 2030-01-01',
      run: () => snpVerifier.verify(MILAN_REPORT, milan({}, new Date('2030-01-01T00:00:00Z'))),
      code: 'SNP_CERT_EXPIRED',
    },
    {
      name: 'not yet valid at 2021-01-01',
      run: () => snpVerifier.verify(MILAN_REPORT, milan({}, new Date('2021-01-01T00:00:00Z'))),
      code: 'SNP_CERT_NOT_YET_VALID',
    },
    {
      name: 'Milan report with the az-snp-vtpm VCEK (other chip, other TCB)',
      run: () =>
        snpVerifier.verify(MILAN_REPORT, milan({ vek: readFileSync(join(EV, 'az-snp-vtpm/vcek.pem'), 'utf8') })),
      code: 'SNP_SIGNATURE_INVALID',
    },
    { name: 'no VCEK anywhere', run: () => snpVerifier.verify(MILAN_REPORT, ctx()), code: 'SNP_VEK_MISSING' },
    {
      name: 'report-data mismatch',
      run: () => snpVerifier.verify(COCO, ctx({ policy: { reportData: 'ab'.repeat(48) } })),
      code: 'SNP_REPORT_DATA_MISMATCH',
    },
    {
      name: 'host-data mismatch',
      run: () => snpVerifier.verify(COCO, ctx({ policy: { hostData: '01'.repeat(32) } })),
      code: 'SNP_HOST_DATA_MISMATCH',
    },
    {
      name: 'CRL required but none available',
      run: () => snpVerifier.verify(COCO, ctx({ requireCrl: true })),
      code: 'SNP_CRL_MISSING',
    },
    {
      name: 'CoCo JSON with a short report_data',
      run: () =>
        snpVerifier.verify({ ...COCO, attestation_report: { ...COCO.attestation_report, report_data: [1, 2] } }, ctx()),
      code: 'SNP_EVIDENCE_MALFORMED',
    },
    {
      name: 'CoCo JSON with a non-byte in chip_id',
      run: () =>
        snpVerifier.verify(
          { ...COCO, attestation_report: { ...COCO.attestation_report, chip_id: Array(64).fill(256) } },
          ctx(),
        ),
      code: 'SNP_EVIDENCE_MALFORMED',
    },
    {
      name: 'CoCo JSON with reported_tcb changed (signature no longer matches)',
      run: () =>
        snpVerifier.verify(
          {
            ...COCO,
            attestation_report: {
              ...COCO.attestation_report,
              reported_tcb: { fmc: null, bootloader: 9, tee: 0, snp: 23, microcode: 25 },
            },
          },
          ctx(),
        ),
      code: 'SNP_SIGNATURE_INVALID',
    },
    {
      name: 'truncated raw report',
      run: () => snpVerifier.verify(MILAN_REPORT.subarray(0, 1000), milan()),
      code: 'SNP_REPORT_MALFORMED',
    },
  ];
  for (const c of table)
    await t.test(c.name, async () => {
      await rejects(c.run(), c.code);
    });
  const ok = await snpVerifier.verify(
    COCO,
    ctx({
      policy: {
        reportData: Buffer.from(COCO.attestation_report.report_data as number[]).toString('hex'),
        hostData: '00',
        measurements: [Buffer.from(COCO.attestation_report.measurement as number[]).toString('hex')],
      },
    }),
  );
  assert.equal(ok.claims.product, 'Genoa');
});

// ---- SELF-MADE chain: keys made in this test, injected as trust roots; nothing here is AMD's ----

let selfMade: SelfMadeChain | undefined;
const chain = async (): Promise<SelfMadeChain> => (selfMade ??= await makeSelfMadeChain());
const selfCtx = (c: SelfMadeChain, snp: SnpTrust = {}, now = AT, extra: Partial<VerifyContext> = {}): VerifyContext =>
  ctx({ roots: c.roots, vek: c.vcekDer, ...snp }, now, extra);

test("SELF-MADE chain: genuine under its injected roots, refused under AMD's", async () => {
  const c = await chain();
  const v = await snpVerifier.verify(makeSelfMadeReport(c), selfCtx(c));
  assert.equal(v.claims.product, 'Milan');
  await rejects(snpVerifier.verify(makeSelfMadeReport(c), ctx({ vek: c.vcekDer })), 'SNP_VEK_SIGNATURE_INVALID');
  const v2 = await snpVerifier.verify(makeSelfMadeReport(c, { version: 2 }), selfCtx(c));
  assert.equal(v2.claims.cpuid, null);
  const v5 = parseReport(makeSelfMadeReport(c, { version: 5 }));
  assert.equal(v5.launchMitVector, 0n);
  assert.deepEqual(parseVek(c.vcekDer).tcb, { ...c.tcb, fmc: undefined });
});

test('SELF-MADE chain: revocation by the ARK-signed CRL (given, or from a collateral directory)', async (t) => {
  const c = await chain();
  const report = makeSelfMadeReport(c);
  const revokeAsk = await makeSelfMadeCrl(c, ['02']);
  const revokeVcek = await makeSelfMadeCrl(c, ['03']);
  const revokeOther = await makeSelfMadeCrl(c, ['77']);
  const other = await makeSelfMadeChain();
  const foreignCrl = await makeSelfMadeCrl(other, ['02']);
  const staleCrl = await makeSelfMadeCrl(c, ['02'], new Date('2024-01-01T00:00:00Z'), new Date('2025-01-01T00:00:00Z'));
  const table: { name: string; crl: Buffer; code?: string }[] = [
    { name: 'CRL revoking the ASK', crl: revokeAsk, code: 'SNP_REVOKED' },
    { name: 'CRL revoking the VCEK serial', crl: revokeVcek, code: 'SNP_REVOKED' },
    { name: 'CRL revoking something else', crl: revokeOther },
    { name: 'CRL signed by another (self-made) ARK', crl: foreignCrl, code: 'SNP_CRL_INVALID' },
    { name: 'CRL past its nextUpdate', crl: staleCrl, code: 'SNP_CRL_INVALID' },
    { name: 'CRL that is not DER', crl: Buffer.from('not a crl'), code: 'SNP_CRL_INVALID' },
  ];
  for (const row of table) {
    await t.test(row.name, async () => {
      const p = snpVerifier.verify(report, selfCtx(c, { crls: { Milan: row.crl } }));
      if (row.code) await rejects(p, row.code);
      else assert.equal((await p).claims.crl_checked, true);
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'cloak-snp-collateral-'));
  try {
    const put = (url: string, body: Buffer): void => {
      const u = new URL(url);
      const file = join(dir, u.host, u.pathname + (u.search ? '_' + u.search.slice(1) : ''));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, body);
    };
    const parsed = parseReport(report);
    put(vcekUrl('Milan', parsed, decodeTcb(parsed.reportedTcbRaw, false)), c.vcekDer);
    put(crlUrl('Milan', 'VCEK'), revokeAsk);
    const collateral = directoryCollateral(dir);
    await rejects(snpVerifier.verify(report, ctx({ roots: c.roots }, AT, { collateral })), 'SNP_REVOKED');
    put(crlUrl('Milan', 'VCEK'), revokeOther);
    const v = await snpVerifier.verify(report, ctx({ roots: c.roots, requireCrl: true }, AT, { collateral }));
    assert.equal(v.claims.crl_checked, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SELF-MADE chain: VEK TCB and hwID must match the report', async (t) => {
  const c = await chain();
  const table: { name: string; report: () => Buffer; code: string }[] = [
    {
      name: 'reported microcode SPL differs',
      report: () => makeSelfMadeReport(c, { tcb: { ...c.tcb, microcode: c.tcb.microcode + 1 } }),
      code: 'SNP_TCB_MISMATCH',
    },
    {
      name: 'reported SNP SPL differs',
      report: () => makeSelfMadeReport(c, { tcb: { ...c.tcb, snp: 0 } }),
      code: 'SNP_TCB_MISMATCH',
    },
    {
      name: 'chip ID of another chip',
      report: () => makeSelfMadeReport(c, { chipId: Buffer.alloc(64, 9) }),
      code: 'SNP_HWID_MISMATCH',
    },
    {
      name: 'masked chip ID',
      report: () => makeSelfMadeReport(c, { chipId: Buffer.alloc(64) }),
      code: 'SNP_HWID_MISMATCH',
    },
    {
      name: 'CPUID of a Genoa chip',
      report: () => makeSelfMadeReport(c, { cpuid: [0x19, 0x11, 0] }),
      code: 'SNP_PRODUCT_UNTRUSTED',
    },
    {
      name: 'CPUID of no known product',
      report: () => makeSelfMadeReport(c, { cpuid: [0x17, 0x31, 0] }),
      code: 'SNP_PRODUCT_UNKNOWN',
    },
    {
      name: 'version 4 (unsupported)',
      report: () => makeSelfMadeReport(c, { version: 4 }),
      code: 'SNP_REPORT_MALFORMED',
    },
  ];
  for (const row of table)
    await t.test(row.name, async () => {
      await rejects(snpVerifier.verify(row.report(), selfCtx(c)), row.code);
    });
});

test('the Milan debug guest verifies and is reported as debug (the attestation policy refuses it, not the verifier)', async () => {
  const v = await snpVerifier.verify(MILAN_REPORT, ctx({ vek: MILAN_VCEK }));
  assert.equal(v.claims.debug, true);
  assert.equal((v.claims.policy as Record<string, unknown>).debug_allowed, true);
});

test('SELF-MADE chain: appraisal policy table', async (t) => {
  const c = await chain();
  const DEBUG = 1n << 19n,
    MA = 1n << 18n,
    SMT = 1n << 16n,
    BASE = 1n << 17n;
  const table: { name: string; fields: Parameters<typeof makeSelfMadeReport>[1]; policy: SnpPolicy; code?: string }[] =
    [
      { name: 'debug: verified and reported, not refused here', fields: { policy: BASE | DEBUG }, policy: {} },
      {
        name: 'migration agent refused',
        fields: { policy: BASE | MA },
        policy: { allowMigrationAgent: false },
        code: 'SNP_POLICY_MIGRATION_AGENT',
      },
      { name: 'SMT refused', fields: { policy: BASE | SMT }, policy: { allowSmt: false }, code: 'SNP_POLICY_SMT' },
      { name: 'VMPL must be 0', fields: { vmpl: 2 }, policy: { vmpl: 0 }, code: 'SNP_POLICY_VMPL' },
      { name: 'VMPL at most 1', fields: { vmpl: 1 }, policy: { maxVmpl: 1 } },
      {
        name: 'minimum ABI',
        fields: { policy: BASE | 0x0100n },
        policy: { minimumAbi: { major: 1, minor: 51 } },
        code: 'SNP_POLICY_ABI',
      },
      { name: 'minimum microcode SPL', fields: {}, policy: { minimumTcb: { microcode: 200 } }, code: 'SNP_POLICY_TCB' },
      { name: 'minimum TCB met', fields: {}, policy: { minimumTcb: { bootloader: 3, snp: 8 } } },
      {
        name: 'guest SVN too low',
        fields: { guestSvn: 1 },
        policy: { minimumGuestSvn: 2 },
        code: 'SNP_POLICY_GUEST_SVN',
      },
      {
        name: 'measurement not allowed',
        fields: {},
        policy: { measurements: ['22'.repeat(48)] },
        code: 'SNP_POLICY_MEASUREMENT',
      },
      { name: 'measurement allowed', fields: {}, policy: { measurements: ['11'.repeat(48)] } },
      { name: 'family ID', fields: {}, policy: { familyId: '01'.repeat(16) }, code: 'SNP_POLICY_FAMILY_ID' },
      { name: 'image ID', fields: {}, policy: { imageId: '01'.repeat(16) }, code: 'SNP_POLICY_IMAGE_ID' },
      {
        name: 'ID key required but no ID block',
        fields: {},
        policy: { idKeyDigests: ['33'.repeat(48)] },
        code: 'SNP_POLICY_ID_KEY',
      },
      {
        name: 'author key required but not used',
        fields: {},
        policy: { authorKeyDigests: ['33'.repeat(48)] },
        code: 'SNP_POLICY_AUTHOR_KEY',
      },
      {
        name: 'report-data matches (48-byte binding, zero-padded)',
        fields: { reportData: Buffer.concat([Buffer.alloc(48, 5), Buffer.alloc(16)]) },
        policy: { reportData: '05'.repeat(48) },
      },
      {
        name: 'report-data mismatch',
        fields: {},
        policy: { reportData: '05'.repeat(48) },
        code: 'SNP_REPORT_DATA_MISMATCH',
      },
      { name: 'host-data matches', fields: { hostData: Buffer.alloc(32, 6) }, policy: { hostData: '06'.repeat(32) } },
    ];
  for (const row of table) {
    await t.test(row.name, async () => {
      const p = snpVerifier.verify(makeSelfMadeReport(c, row.fields), selfCtx(c, { policy: row.policy }));
      if (row.code) await rejects(p, row.code);
      else assert.equal((await p).tee, 'snp');
    });
  }
});

test('SELF-MADE Turin chain (FMC SPL, 8-byte hwID) and SELF-MADE VLEK chain (no hwID, CSP id)', async (t) => {
  const turin = await makeSelfMadeChain({ product: 'Turin' });
  await t.test('Turin genuine, FMC decoded', async () => {
    const v = await snpVerifier.verify(makeSelfMadeReport(turin), selfCtx(turin));
    assert.equal(v.claims.product, 'Turin');
    assert.equal((v.claims.reported_tcb as { fmc: number }).fmc, 1);
  });
  await t.test('Turin FMC SPL mismatch', async () => {
    await rejects(
      snpVerifier.verify(makeSelfMadeReport(turin, { tcb: { ...turin.tcb, fmc: 2 } }), selfCtx(turin)),
      'SNP_TCB_MISMATCH',
    );
  });
  await t.test('Turin KDS URL: 8-byte hwID and fmcSPL', () => {
    const r = parseReport(makeSelfMadeReport(turin));
    assert.equal(
      vcekUrl('Turin', r, decodeTcb(r.reportedTcbRaw, true)),
      `https://kdsintf.amd.com/vcek/v1/Turin/${turin.chipId.subarray(0, 8).toString('hex')}?fmcSPL=1&blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115`,
    );
    assert.equal(crlUrl('Turin', 'VLEK'), 'https://kdsintf.amd.com/vlek/v1/Turin/crl');
  });
  const vlek = await makeSelfMadeChain({ product: 'Genoa', vlek: true });
  await t.test('VLEK genuine (chip ID not checked: VLEKs have no hwID)', async () => {
    const v = await snpVerifier.verify(makeSelfMadeReport(vlek, { chipId: Buffer.alloc(64) }), selfCtx(vlek));
    assert.equal(v.claims.vek, 'VLEK');
    assert.equal(v.claims.signing_key, 'VLEK');
  });
  await t.test('VLEK-signed report with a VCEK supplied', async () => {
    const vcekChain = await chain();
    await rejects(
      snpVerifier.verify(makeSelfMadeReport(vlek), selfCtx(vlek, { vek: vcekChain.vcekDer })),
      'SNP_VEK_KIND_MISMATCH',
    );
  });
  await t.test('VLEK from CoCo cert_chain type VLEK', async () => {
    const json = {
      attestation_report: reportJson(parseReport(makeSelfMadeReport(vlek))),
      cert_chain: [{ cert_type: 'VLEK', data: [...vlek.vcekDer] }],
    };
    const v = await snpVerifier.verify(json, ctx({ roots: vlek.roots }));
    assert.equal(v.claims.vek, 'VLEK');
  });
});

/** The sev crate's JSON form of a report (as CoCo attesters send it), built from a parsed report. */
function reportJson(r: ReturnType<typeof parseReport>): Record<string, unknown> {
  return {
    version: r.version,
    guest_svn: r.guestSvn,
    policy: Number(r.policy),
    family_id: [...r.familyId],
    image_id: [...r.imageId],
    vmpl: r.vmpl,
    sig_algo: r.sigAlgo,
    current_tcb: { fmc: null, ...tcbJson(r.currentTcbRaw) },
    plat_info: Number(r.platformInfo),
    key_info: r.keyInfo,
    report_data: [...r.reportData],
    measurement: [...r.measurement],
    host_data: [...r.hostData],
    id_key_digest: [...r.idKeyDigest],
    author_key_digest: [...r.authorKeyDigest],
    report_id: [...r.reportId],
    report_id_ma: [...r.reportIdMa],
    reported_tcb: tcbJson(r.reportedTcbRaw),
    ...(r.cpuid ? { cpuid_fam_id: r.cpuid.family, cpuid_mod_id: r.cpuid.model, cpuid_step: r.cpuid.stepping } : {}),
    chip_id: [...r.chipId],
    committed_tcb: tcbJson(r.committedTcbRaw),
    current: r.currentVersion,
    committed: r.committedVersion,
    launch_tcb: tcbJson(r.launchTcbRaw),
    ...(r.launchMitVector !== undefined
      ? { launch_mit_vector: Number(r.launchMitVector), current_mit_vector: Number(r.currentMitVector) }
      : {}),
    signature: { r: [...r.signatureR], s: [...r.signatureS] },
  };
}

test(
  'CoCo JSON round trip: v2, v3 and v5 reports (v5 mitigation vectors) rebuild byte for byte',
  { skip },
  async () => {
    const c = await chain();
    for (const version of [2, 3, 5]) {
      const raw = makeSelfMadeReport(c, { version, mitVectors: version === 5 ? [0x1234n, 0x5678n] : undefined });
      assert.ok(reportFromJson(reportJson(parseReport(raw))).equals(raw), `v${version}`);
      const v = await snpVerifier.verify(
        { attestation_report: reportJson(parseReport(raw)), cert_chain: null },
        selfCtx(c),
      );
      assert.equal(v.claims.version, version);
      if (version === 5)
        assert.deepEqual(
          [v.claims.launch_mit_vector, v.claims.current_mit_vector],
          ['0000000000001234', '0000000000005678'],
        );
    }
    assert.ok(reportFromJson(reportJson(parseReport(MILAN_REPORT))).equals(MILAN_REPORT));
    const {
      key_info: keyInfo,
      current,
      committed,
      ...rest
    } = reportJson(parseReport(MILAN_REPORT)) as Record<string, { major: number; minor: number; build: number }>;
    const older = {
      ...rest,
      _author_key_en: keyInfo,
      _reserved_0: 0,
      _reserved_1: Array(24).fill(0),
      _reserved_4: Array(168).fill(0),
      current_build: current!.build,
      current_minor: current!.minor,
      current_major: current!.major,
      _reserved_2: 0,
      committed_build: committed!.build,
      committed_minor: committed!.minor,
      committed_major: committed!.major,
      _reserved_3: 0,
    };
    assert.ok(reportFromJson(older).equals(MILAN_REPORT), 'older sev crate form');
    assert.throws(
      () => reportFromJson({ ...older, _reserved_1: [1, ...Array(23).fill(0)] }),
      /_reserved_1 must be zero/,
    );
  },
);

const tcbJson = (raw: bigint): Record<string, number> => {
  const t = decodeTcb(raw, false);
  return { bootloader: t.bootloader, tee: t.tee, snp: t.snp, microcode: t.microcode };
};
