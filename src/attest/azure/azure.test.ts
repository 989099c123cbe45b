import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isCloakError } from '../../lib/index.ts';
import type { VerifiedEvidence } from '../types.ts';
import { OFFSETS as SNP_OFFSETS } from '../snp/report.ts';
import {
  checkAzVtpm,
  hardwareReportData,
  makeAzSnpVtpmVerifier,
  makeAzTdxVtpmVerifier,
  parseAzSnpEvidence,
  parseAzTdxEvidence,
  parseHclReport,
  parseRuntimeClaims,
  runtimeClaimsDigest,
  runtimeKey,
  type SnpHardwareInput,
  type TdxHardwareInput,
} from './index.ts';
import { testdata } from '../../lib/testing/testdata.ts';

const EV = testdata('evidence');
const SHARED = EV.url;
const load = (f: string) => JSON.parse(readFileSync(new URL(f, SHARED), 'utf8'));
const NOW = new Date('2025-02-01T00:00:00Z');
const CAPTURES = [
  ['snp', 'az-snp-vtpm/evidence-v0.json', 0],
  ['snp', 'az-snp-vtpm/evidence-v1.json', 1],
  ['snp', 'az-snp-vtpm/evidence-v2.json', 2],
  ['tdx', 'az-tdx-vtpm/evidence-v0.json', 0],
  ['tdx', 'az-tdx-vtpm/evidence-v1.json', 1],
] as const;
const parse = (kind: 'snp' | 'tdx', j: unknown) => (kind === 'snp' ? parseAzSnpEvidence(j) : parseAzTdxEvidence(j));

/**
 * DELEGATED CHECK: the hardware signature (SNP: VCEK→ASK→ARK; TDX: DCAP quote)
 * belongs to the SNP/TDX verifiers, which the lead injects. These stand-ins do
 * NOT verify any signature: they only hand back the report-data field they
 * are given, so the tests can show everything else on the real captures and
 * the cross-check of the verifier's answer against the runtime-claims hash.
 */
const calls: string[] = [];
const snpReportDataNotSignatureChecked = async (i: SnpHardwareInput): Promise<VerifiedEvidence> => {
  calls.push(`snp report ${i.report.length} vcek ${i.vcek.length}`);
  return {
    tee: 'snp',
    insecure: false,
    claims: { delegated: 'snp' },
    reportData: Buffer.from(i.report.subarray(SNP_OFFSETS.reportData, SNP_OFFSETS.reportData + 64)),
  };
};
const tdxReportDataNotSignatureChecked = async (i: TdxHardwareInput): Promise<VerifiedEvidence> => {
  calls.push(`tdx quote ${i.quote.length}`);
  // TD quote v4: 48-byte header, TD report body whose report_data sits at 520.
  return {
    tee: 'tdx',
    insecure: false,
    claims: { delegated: 'tdx' },
    reportData: Buffer.from(i.quote.subarray(48 + 520, 48 + 584)),
  };
};

function rejectsWith(fn: () => unknown, code: string, name: string) {
  assert.throws(
    fn,
    (e: unknown) =>
      isCloakError(e, code) ||
      assert.fail(`${name}: expected ${code}, got ${(e as { code?: string }).code} ${(e as Error).message}`),
  );
}

test(
  'real Azure captures, every version: HCL, runtime-claims hash at the report-data offset, AK from the claims, quote signature, PCR digest',
  { skip: EV.skip },
  () => {
    for (const [kind, file, version] of CAPTURES) {
      const c = checkAzVtpm(kind, parse(kind, load(file)));
      assert.equal(c.evidence.version, version, file);
      assert.equal(c.hcl.kind, kind);
      assert.deepEqual(
        hardwareReportData(c.hcl).subarray(0, 32),
        createHash('sha256').update(c.hcl.runtimeClaimsBytes).digest(),
      );
      assert.equal(c.quote.signature.alg, 'rsassa');
      assert.equal(c.quote.pcrs.length, 24);
      assert.ok(c.runtimeClaims.keys.some((k) => k.kid === 'HCLEkPub'));
      assert.equal(typeof c.runtimeClaims.vmConfiguration['secure-boot'], 'boolean');
      if (version === 2) assert.deepEqual(c.runtimeClaims.userData!.subarray(0, 48), c.quote.extraData);
      else assert.equal(c.quote.extraData.toString(), 'challenge');
    }
  },
);

test(
  'verifier objects: the injected hardware verifier gets the raw SNP report + VCEK / the TD quote, and its report-data is cross-checked',
  { skip: EV.skip },
  async () => {
    const snp = makeAzSnpVtpmVerifier(snpReportDataNotSignatureChecked);
    const tdx = makeAzTdxVtpmVerifier(tdxReportDataNotSignatureChecked);
    for (const [kind, file] of CAPTURES) {
      calls.length = 0;
      const v = await (kind === 'snp' ? snp : tdx).verify(load(file), { now: NOW });
      assert.equal(v.tee, `az-${kind}-vtpm`);
      assert.equal(calls.length, 1);
      assert.match(calls[0]!, kind === 'snp' ? /^snp report 1184 vcek \d{4}/ : /^tdx quote 5006$/);
      assert.equal((v.claims as { delegated: string }).delegated, kind);
      assert.equal(v.initData!.length, 32);
      assert.equal((v.claims.tpm as Record<string, string>).pcr08, v.initData!.toString('hex'));
    }
    const v2 = await snp.verify(readFileSync(new URL('az-snp-vtpm/evidence-v2.json', SHARED)), { now: NOW });
    // v2's nonce is the CoCo KBS binding: a 48-byte SHA-384 digest; expectedReportData gives back the same bytes.
    assert.deepEqual(snp.expectedReportData(v2.reportData), v2.reportData);
    const lying = makeAzSnpVtpmVerifier(async (i) => ({
      ...(await snpReportDataNotSignatureChecked(i)),
      reportData: Buffer.alloc(64),
    }));
    await assert.rejects(lying.verify(load('az-snp-vtpm/evidence-v2.json'), { now: NOW }), (e) =>
      isCloakError(e, 'AZ_RUNTIME_CLAIMS_HASH_MISMATCH'),
    );
    const refusing = makeAzTdxVtpmVerifier(async () => {
      throw Object.assign(new Error('x'), {});
    });
    await assert.rejects(refusing.verify(load('az-tdx-vtpm/evidence-v1.json'), { now: NOW }));
    await assert.rejects(snp.verify(load('az-tdx-vtpm/evidence-v1.json'), { now: NOW }), (e) =>
      isCloakError(e, 'AZ_EVIDENCE_MALFORMED'),
    );
  },
);

/** Rewrites a JSON string field inside the HCL runtime claims in place (same length), returning new evidence. */
function editClaims(
  ev: Record<string, unknown>,
  kind: 'snp' | 'tdx',
  edit: (claimsText: string) => string,
): Record<string, unknown> {
  const e = structuredClone(ev);
  const hcl = parse(kind, e).hcl;
  const parsed = parseHclReport(hcl);
  const start = hcl.indexOf(parsed.runtimeClaimsBytes);
  const text = edit(parsed.runtimeClaimsBytes.toString('utf8'));
  assert.equal(Buffer.byteLength(text), parsed.runtimeClaimsBytes.length);
  const out = Buffer.from(hcl);
  out.write(text, start, 'utf8');
  return setHcl(e, out);
}
function setHcl(e: Record<string, unknown>, hcl: Buffer): Record<string, unknown> {
  if (e.version === undefined) {
    if ('report' in e) e.report = [...hcl];
    else e.hcl_report = [...hcl];
  } else e.hcl_report = hcl.toString('base64url');
  return e;
}
function editQuote(e: Record<string, unknown>, field: 'message' | 'signature', at: number): Record<string, unknown> {
  const out = structuredClone(e);
  const q = (out.tpm_quote ?? out.quote) as Record<string, unknown>;
  const b = Buffer.isBuffer(q[field])
    ? (q[field] as Buffer)
    : Array.isArray(q[field])
      ? Buffer.from(q[field] as number[])
      : Buffer.from(q[field] as string, 'hex');
  b[at]! ^= 1;
  q[field] = out.version === undefined ? [...b] : b.toString('hex');
  return out;
}

test('each broken link in the real captures is refused with its own code', { skip: EV.skip }, () => {
  for (const [kind, file, version] of CAPTURES) {
    const ev = load(file);
    const table: Array<[string, () => unknown, string]> = [
      [
        'runtime claims changed (vmUniqueId)',
        () =>
          editClaims(ev, kind, (t) =>
            t.replace(/"vmUniqueId":"(.)/, (_m, c) => `"vmUniqueId":"${c === 'A' ? 'B' : 'A'}`),
          ),
        'AZ_RUNTIME_CLAIMS_HASH_MISMATCH',
      ],
      [
        'AK in the claims replaced by the EK',
        () =>
          editClaims(ev, kind, (t) => {
            const keys = JSON.parse(t).keys as Array<{ kid: string; n: string }>;
            const ak = keys.find((k) => k.kid === 'HCLAkPub')!.n;
            const ek = keys.find((k) => k.kid === 'HCLEkPub')!.n;
            return t.replace(ak, ek);
          }),
        'AZ_QUOTE_NOT_SIGNED_BY_AK',
      ],
      ['no AK in the claims', () => editClaims(ev, kind, (t) => t.replace('HCLAkPub', 'HCLXkPub')), 'AZ_AK_MISSING'],
      ['quote nonce byte flipped', () => editQuote(ev, 'message', 40), 'AZ_QUOTE_NOT_SIGNED_BY_AK'],
      ['quote signature byte flipped', () => editQuote(ev, 'signature', 17), 'AZ_QUOTE_NOT_SIGNED_BY_AK'],
      [
        'PCR value changed',
        () => {
          const e = structuredClone(ev);
          const q = (e.tpm_quote ?? e.quote) as { pcrs: unknown[] };
          q.pcrs[3] = version === 0 ? Array(32).fill(7) : '07'.repeat(32);
          return e;
        },
        'TPM_PCR_DIGEST_MISMATCH',
      ],
      [
        'HCL signature',
        () => {
          const h = Buffer.from(parse(kind, ev).hcl);
          h[0] = 0;
          return setHcl(structuredClone(ev), h);
        },
        'AZ_HCL_SIGNATURE',
      ],
      ['HCL truncated', () => setHcl(structuredClone(ev), parse(kind, ev).hcl.subarray(0, 1500)), 'AZ_HCL_MALFORMED'],
      ['unknown version', () => ({ ...ev, version: 3 }), 'AZ_EVIDENCE_VERSION'],
    ];
    if (kind === 'snp') {
      table.push([
        'VMPL 1',
        () => {
          const h = Buffer.from(parse(kind, ev).hcl);
          h[32 + SNP_OFFSETS.vmpl] = 1;
          return setHcl(structuredClone(ev), h);
        },
        'AZ_VMPL',
      ]);
    }
    if (version === 2) {
      table.push([
        'user-data not starting with the nonce',
        () => editClaims(ev, kind, (t) => t.replace('"user-data":"98', '"user-data":"99')),
        'AZ_USER_DATA_MISMATCH',
      ]);
    }
    for (const [name, make, code] of table)
      rejectsWith(() => checkAzVtpm(kind, parse(kind, make())), code, `${file}: ${name}`);
  }
  rejectsWith(
    () => checkAzVtpm('tdx', parseAzTdxEvidence({ ...load('az-snp-vtpm/evidence-v1.json'), td_quote: 'AA' })),
    'AZ_HCL_TYPE_MISMATCH',
    'snp HCL as tdx',
  );
});

test(
  'runtime claims: AK is the HCLAkPub JWK; the HCL runtime-claims digest is SHA-256 of the exact bytes',
  { skip: EV.skip },
  () => {
    const hcl = parseHclReport(readFileSync(new URL('az-snp-vtpm/hcl-report.bin', SHARED)));
    const claims = parseRuntimeClaims(hcl.runtimeClaimsBytes);
    assert.equal(runtimeKey(claims, 'HCLAkPub').asymmetricKeyDetails?.modulusLength, 2048);
    assert.deepEqual(runtimeClaimsDigest(hcl), hardwareReportData(hcl).subarray(0, 32));
    rejectsWith(() => parseRuntimeClaims(Buffer.from('{"keys":5}')), 'AZ_RUNTIME_CLAIMS_MALFORMED', 'keys not a list');
    rejectsWith(
      () =>
        runtimeKey(
          parseRuntimeClaims(Buffer.from('{"keys":[{"kid":"HCLAkPub","kty":"RSA","n":"AQ","e":"AQAB"}]}')),
          'HCLAkPub',
        ),
      'AZ_AK_MALFORMED',
      'tiny modulus',
    );
  },
);
