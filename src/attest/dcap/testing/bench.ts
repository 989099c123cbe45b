/**
 * TDX and SGX verifications per second with warm collateral (the real
 * dcap-qvl captures at a time inside their collateral window, the collateral
 * read from an offline PCS directory as the key broker does), beside the
 * raw ECDSA-P256 verify rate measured in the same run. A quote needs two
 * ECDSA verifications (QE report by the PCK, quote by the attestation key),
 * so the limit is half the raw rate. For `npm run bench:attest`.
 *
 * The machines are shared and noisy, so the three rates are measured in
 * short interleaved rounds and each ratio is the median of the per-round
 * ratios: a slow spell then hits the limit and the verifier alike.
 */
import { createSign, generateKeyPairSync, verify } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { EvidenceVerifier } from '../../types.ts';
import { sgxVerifier } from '../../sgx/index.ts';
import { tdxVerifier } from '../../tdx/index.ts';
import { directoryCollateral } from '../../collateral/index.ts';
import { VerifyCache } from '../../cache.ts';
import type { DcapTee, PckCa } from '../collateral.ts';
import { writeOfflineCollateralDir } from './offline-dir.ts';
import { readEvidence } from './self-made.ts';

export interface DcapBench {
  ecdsaP256VerifyPerSec: number;
  limitPerSec: number;
  tdxPerSec: number;
  sgxPerSec: number;
  tdxOfLimit: number;
  sgxOfLimit: number;
  rounds: number;
}

async function rate(fn: () => unknown, ms: number): Promise<number> {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    await fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

/**
 * Rates (per second) of each function, measured in `rounds` interleaved
 * rounds of `ms / rounds` each, so that a slow spell of the machine hits all
 * of them; compare them round by round (ratios), then take the median.
 */
export async function interleaved(
  fns: Record<string, () => unknown>,
  ms: number,
  rounds: number,
): Promise<Record<string, number[]>> {
  for (const fn of Object.values(fns)) await rate(fn, 200);
  const out: Record<string, number[]> = {};
  for (let i = 0; i < rounds; i++)
    for (const [k, fn] of Object.entries(fns)) (out[k] ??= []).push(await rate(fn, ms / rounds));
  return out;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** `ms` is the total time per measured thing, spread over `rounds` rounds. */
export async function benchDcap(ms = 2000, rounds = 10): Promise<DcapBench> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const msg = Buffer.alloc(632, 1);
  const sig = createSign('sha256').update(msg).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' });
  const raw = () => verify('sha256', msg, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig);
  const now = new Date('2025-07-01T00:00:00Z');
  const dirs: string[] = [];
  // As `cloak serve --collateral DIR` does: CoCo evidence JSON, collateral from an offline PCS directory.
  const quoteVerify = (v: EvidenceVerifier, tee: DcapTee, fmspc: string, ca: PckCa) => {
    const evidence = { quote: readEvidence(`${tee}/dcap-qvl_${tee}_quote.dat`).toString('base64') };
    const dir = writeOfflineCollateralDir(
      JSON.parse(readEvidence(`${tee}/dcap-qvl_${tee}_quote_collateral.json`).toString('utf8')) as Record<
        string,
        string
      >,
      tee,
      fmspc,
      ca,
    );
    dirs.push(dir);
    const ctx = { now, collateral: directoryCollateral(dir), cache: new VerifyCache() };
    return () => v.verify(evidence, ctx);
  };
  const tdx = quoteVerify(tdxVerifier, 'tdx', 'B0C06F000000', 'platform');
  const sgx = quoteVerify(sgxVerifier, 'sgx', '00A067110000', 'processor');
  const m = await interleaved({ raw, tdx, sgx }, ms, rounds).finally(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const ofLimit = (rates: number[]) => +median(rates.map((t, i) => (2 * t) / m.raw![i]!)).toFixed(2);
  const rawRate = median(m.raw!);
  return {
    ecdsaP256VerifyPerSec: Math.round(rawRate),
    limitPerSec: Math.round(rawRate / 2),
    tdxPerSec: Math.round(median(m.tdx!)),
    sgxPerSec: Math.round(median(m.sgx!)),
    tdxOfLimit: ofLimit(m.tdx!),
    sgxOfLimit: ofLimit(m.sgx!),
    rounds,
  };
}
