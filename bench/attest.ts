/**
 * npm run bench:attest — hardware evidence verifications per second with
 * warm collateral, beside the raw signature-verify rate measured in the same
 * run (the physical limit: each quote needs two ECDSA verifications).
 */
import { benchDcap } from '../src/attest/dcap/testing/bench.ts';

const ms = Number(process.env.BENCH_MS ?? 3000);
const d = await benchDcap(ms);
console.log(`ECDSA P-256 verify: ${d.ecdsaP256VerifyPerSec.toFixed(0)}/s → limit ${d.limitPerSec.toFixed(0)} quotes/s (two verifications per quote)`);
console.log(`TDX (dcap-qvl v4 quote, warm collateral): ${d.tdxPerSec.toFixed(0)}/s = ${d.tdxOfLimit.toFixed(2)} of the limit`);
console.log(`SGX (dcap-qvl v3 quote, warm collateral): ${d.sgxPerSec.toFixed(0)}/s = ${d.sgxOfLimit.toFixed(2)} of the limit`);
