import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  snpVerifier,
  makeAzSnpVtpmVerifier,
  makeAzTdxVtpmVerifier,
  type EvidenceVerifier,
  type VerifiedEvidence,
} from '../../src/attest/index.ts';
import { openStore } from '../../src/store/index.ts';
import { Admin, KeyBroker, TokenIssuer } from '../../src/kbs/index.ts';
import { buildApp } from '../../src/server/app.ts';
import { azSnpHardware, azTdxHardware } from '../../src/server/verifiers.ts';
import { workloadInitData } from '../../src/manifest/index.ts';
import { ownerManifestYaml } from '../../src/manifest/testing/owner-manifest.ts';
import { testdata } from '../../src/lib/testing/testdata.ts';
import { CocoAttestationAgent, cdhGetResource, KbsError } from '../../src/kbs/testing/coco-aa.ts';

/*
 * Real captures (../shared/testdata/evidence/) as the CoCo guest sends them:
 * the exact JSON guest-components' attesters produce, as `primary_evidence` of
 * an Attestation posted to /kbs/v0/attest by the AA stand-in
 * (src/kbs/testing/coco-aa.ts), on the server's real routes and verifiers.
 */

const EV = testdata('evidence');
const capture = (p: string) => EV.json(p) as Record<string, any>;
const KEK = randomBytes(32);
const INIT_DATA = workloadInitData({ name: 'app', images: [], secrets: [] });
const INIT_DATA_DIGEST = createHash('sha256').update(INIT_DATA).digest('hex');

/**
 * TEST ONLY — binding checks relaxed for captures: a capture's report-data
 * answers someone else's challenge and its HOST_DATA / PCR 8 holds someone
 * else's init-data, so the verifier is told to expect exactly what the
 * verified capture holds. The hardware chain, the evidence parsing, the
 * appraisal, the manifest and the release are the real ones.
 */
function bindingRelaxedForCaptures(verifier: EvidenceVerifier): EvidenceVerifier {
  let held: VerifiedEvidence | undefined;
  return {
    ...verifier,
    verify: async (evidence, ctx) => (held = await verifier.verify(evidence, ctx)),
    expectedReportData: () => held!.reportData,
    expectedInitData: () => held!.initData,
  };
}

/** The server's routes in process (so the clock can sit inside the captures' certificate windows), on a loopback port. */
async function serve(verifier: EvidenceVerifier, at: string, workload: Record<string, unknown>) {
  const store = await openStore('sqlite::memory:', { sealingKey: randomBytes(32) });
  const text = ownerManifestYaml([
    {
      name: 'app',
      tees: [verifier.tee],
      keys: ['default/key/app'],
      ...workload,
      referenceValues: { initData: [INIT_DATA_DIGEST], ...(workload.referenceValues as object) },
    },
  ]);
  // Stored as the admin API stores a manifest once its owner signatures checked out.
  await store.putManifest({
    version: 1,
    digest: 'sha256:' + createHash('sha256').update(text).digest('hex'),
    text,
    signatures: [],
  });
  await store.putResource('default/key/app', KEK);
  const tokens = await TokenIssuer.load(store, 'test');
  const broker = new KeyBroker({
    store,
    tokens,
    verifiers: [bindingRelaxedForCaptures(verifier)],
    clock: () => new Date(at),
  });
  const app = await buildApp({
    broker,
    admin: new Admin(store),
    tokens,
    authorize: () => {
      throw new Error('no admin here');
    },
    ready: async () => true,
    logLevel: 'silent',
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

/** The AA's handshake with the capture as its attester's output, then the CDH's bearer fetch of the image key. */
async function guestFetch(
  url: string,
  tee: string,
  evidence: unknown,
): Promise<{ status: string; key: Promise<Buffer> }> {
  const aa = new CocoAttestationAgent(url, tee, () => evidence, INIT_DATA);
  const token = await aa.attest();
  return {
    status: (aa.token!.claims as any).submods.cpu0['ear.status'],
    key: cdhGetResource(url, 'kbs:///default/key/app', token, aa.key),
  };
}

const azSnp = makeAzSnpVtpmVerifier(azSnpHardware);
const pcrsOf = (ev: Record<string, any>, idx: number[]) =>
  Object.fromEntries(idx.map((i) => [String(i), String(ev.tpm_quote.pcrs[i]).toLowerCase()]));

test(
  'az-snp-vtpm evidence v2 (what the AA sends now): attests; the image key is released only with the vTPM PCRs pinned, and the refusal names them',
  { skip: EV.skip },
  async () => {
    const ev = capture('az-snp-vtpm/evidence-v2.json');
    const at = '2025-02-01T00:00:00Z';
    const unpinned = await serve(azSnp, at, {});
    try {
      const r = await guestFetch(unpinned.url, 'az-snp-vtpm', ev);
      assert.equal(r.status, 'warning', 'genuine hardware, but nothing pins what booted');
      await assert.rejects(
        r.key,
        (e) =>
          e instanceof KbsError &&
          e.status === 403 &&
          /lists no referenceValues\.vtpm for TEE az-snp-vtpm/.test(e.body?.detail ?? '') &&
          (e.body?.detail ?? '').includes(`PCR 9 ${pcrsOf(ev, [9])['9']}`),
      );
    } finally {
      await unpinned.close();
    }

    // The SNP MEASUREMENT on Azure is the paravisor's: pinning it alone does not pin the guest.
    const measurement = Buffer.from(ev.hcl_report, 'base64url')
      .subarray(32 + 0x90, 32 + 0xc0)
      .toString('hex');
    const snpOnly = await serve(azSnp, at, { referenceValues: { snp: [{ measurement }] } });
    try {
      await assert.rejects(
        (await guestFetch(snpOnly.url, 'az-snp-vtpm', ev)).key,
        (e) => e instanceof KbsError && e.status === 403 && /referenceValues\.vtpm/.test(e.body?.detail ?? ''),
      );
    } finally {
      await snpOnly.close();
    }

    const pinned = await serve(azSnp, at, {
      referenceValues: { vtpm: [{ pcrs: pcrsOf(ev, [3, 9, 11]) }], snp: [{ measurement }] },
    });
    try {
      const r = await guestFetch(pinned.url, 'az-snp-vtpm', ev);
      assert.equal(r.status, 'affirming');
      assert.deepEqual(await r.key, KEK);
      // Another PCR 9 (another kernel or initrd) is refused.
      const other = { ...pcrsOf(ev, [3, 11]), 9: 'ab'.repeat(32) };
      const wrongKernel = await serve(azSnp, at, { referenceValues: { vtpm: [{ pcrs: other }] } });
      try {
        await assert.rejects(
          (await guestFetch(wrongKernel.url, 'az-snp-vtpm', ev)).key,
          (e) =>
            e instanceof KbsError &&
            e.status === 403 &&
            /not in workload "app"'s referenceValues\.vtpm/.test(e.body?.detail ?? ''),
        );
      } finally {
        await wrongKernel.close();
      }
    } finally {
      await pinned.close();
    }
  },
);

test('az-snp-vtpm evidence v0 and v1 (older AAs) parse and attest the same way', { skip: EV.skip }, async () => {
  for (const v of [0, 1]) {
    const ev = capture(`az-snp-vtpm/evidence-v${v}.json`);
    // v0 wrote bytes as JSON arrays, v1 as hex.
    const hex = (p: unknown) =>
      Array.isArray(p) ? Buffer.from(p as number[]).toString('hex') : String(p).toLowerCase();
    const pcrs = v === 0 ? ev.quote.pcrs : ev.tpm_quote.pcrs;
    const s = await serve(azSnp, '2025-02-01T00:00:00Z', {
      referenceValues: { vtpm: [{ pcrs: { 9: hex(pcrs[9]), 11: hex(pcrs[11]) } }] },
    });
    try {
      const r = await guestFetch(s.url, 'az-snp-vtpm', ev);
      assert.equal(r.status, 'affirming', `v${v}`);
      assert.deepEqual(await r.key, KEK);
    } finally {
      await s.close();
    }
  }
});

test(
  "snp evidence (CoCo's SNP attester: the sev crate's report JSON and cert_chain): released with the MEASUREMENT pinned, refused without; a vendor cert_chain entry is skipped",
  { skip: EV.skip },
  async () => {
    const ev = capture('coco/snp-evidence.json');
    const at = '2025-06-01T00:00:00Z';
    const measurement = Buffer.from(ev.attestation_report.measurement as number[]).toString('hex');
    const pinned = await serve(snpVerifier, at, { referenceValues: { snp: [{ measurement }] } });
    try {
      const r = await guestFetch(pinned.url, 'snp', ev);
      assert.equal(r.status, 'affirming');
      assert.deepEqual(await r.key, KEK);
      // The sev crate writes a host-supplied entry of another type as {"cert_type": {"OTHER": "<guid>"}}.
      const withVendorEntry = {
        ...ev,
        cert_chain: [
          ...ev.cert_chain,
          { cert_type: { OTHER: '11111111-2222-3333-4444-555555555555' }, data: [1, 2, 3] },
        ],
      };
      assert.deepEqual(await (await guestFetch(pinned.url, 'snp', withVendorEntry)).key, KEK);
    } finally {
      await pinned.close();
    }
    const unpinned = await serve(snpVerifier, at, {});
    try {
      const r = await guestFetch(unpinned.url, 'snp', ev);
      assert.equal(r.status, 'warning');
      await assert.rejects(
        r.key,
        (e) =>
          e instanceof KbsError &&
          e.status === 403 &&
          /lists no referenceValues\.snp or referenceValues\.measurements for TEE snp/.test(e.body?.detail ?? '') &&
          (e.body?.detail ?? '').includes(measurement),
      );
    } finally {
      await unpinned.close();
    }
  },
);

test(
  'az-tdx-vtpm evidence: the KBS reads the JSON, HCL report, vTPM quote and TD quote down to the Intel collateral, which these captures do not carry',
  { skip: EV.skip },
  async () => {
    const s = await serve(makeAzTdxVtpmVerifier(azTdxHardware), '2025-02-01T00:00:00Z', {});
    try {
      for (const v of [0, 1]) {
        await assert.rejects(
          new CocoAttestationAgent(
            s.url,
            'az-tdx-vtpm',
            () => capture(`az-tdx-vtpm/evidence-v${v}.json`),
            INIT_DATA,
          ).attest(),
          (e) =>
            e instanceof KbsError &&
            e.status === 401 &&
            /no Intel collateral for FMSPC 00806F050000/.test(e.body?.detail ?? ''),
          `v${v}`,
        );
      }
      // A mangled capture is refused earlier, at the vTPM quote.
      const bad = capture('az-tdx-vtpm/evidence-v1.json');
      bad.tpm_quote.signature = '00' + String(bad.tpm_quote.signature).slice(2);
      await assert.rejects(
        new CocoAttestationAgent(s.url, 'az-tdx-vtpm', () => bad, INIT_DATA).attest(),
        (e) => e instanceof KbsError && e.status === 401 && !/collateral/.test(e.body?.detail ?? ''),
      );
    } finally {
      await s.close();
    }
  },
);
