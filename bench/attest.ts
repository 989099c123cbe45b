/**
 * npm run bench:attest — hardware evidence verifications per second with
 * warm collateral, beside the raw signature-verify rate measured in the same
 * run (the physical limit: each quote needs two ECDSA verifications).
 */
import { benchDcap, interleaved, median } from '../src/attest/dcap/testing/bench.ts';

const ms = Number(process.env.BENCH_MS ?? 3000);
const d = await benchDcap(ms);
console.log(
  `ECDSA P-256 verify: ${d.ecdsaP256VerifyPerSec.toFixed(0)}/s → limit ${d.limitPerSec.toFixed(0)} quotes/s (two verifications per quote; medians of ${d.rounds} interleaved rounds)`,
);
console.log(
  `TDX (dcap-qvl v4 quote as CoCo JSON, warm collateral from an offline PCS directory): ${d.tdxPerSec.toFixed(0)}/s = ${d.tdxOfLimit.toFixed(2)} of the limit`,
);
console.log(
  `SGX (dcap-qvl v3 quote as CoCo JSON, warm collateral from an offline PCS directory): ${d.sgxPerSec.toFixed(0)}/s = ${d.sgxOfLimit.toFixed(2)} of the limit`,
);

// SEV-SNP: one ECDSA P-384 verification per report once the VCEK chain is cached.
const { createSign, generateKeyPairSync, verify } = await import('node:crypto');
const { readFileSync } = await import('node:fs');
const { snpVerifier, VerifyCache } = await import('../src/attest/index.ts');
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const msg = Buffer.alloc(0x2a0, 1);
const sig = createSign('sha384').update(msg).sign(privateKey);
const { testdata } = await import('../src/lib/testing/testdata.ts');
const EV = testdata('evidence');
if (EV.skip) throw new Error(EV.skip);
const evidence = JSON.parse(readFileSync(EV.path('coco/snp-evidence.json'), 'utf8'));
// As `cloak serve` verifies: one cache for the process (VerifyContext.cache).
const snpCtx = { now: new Date('2025-06-01T00:00:00Z'), cache: new VerifyCache() };
const m = await interleaved(
  {
    raw: () => verify('sha384', msg, publicKey, sig),
    snp: () => snpVerifier.verify(evidence, snpCtx),
  },
  ms,
  10,
);
console.log(`ECDSA P-384 verify: ${median(m.raw!).toFixed(0)}/s (the limit: one verification per SNP report)`);
console.log(
  `SNP (CoCo JSON evidence, Genoa, warm VCEK chain): ${median(m.snp!).toFixed(0)}/s = ${median(m.snp!.map((s, i) => s / m.raw![i]!)).toFixed(2)} of the limit`,
);
