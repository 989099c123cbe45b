/**
 * TDX and SGX verifications per second with warm collateral (the real
 * dcap-qvl captures at a time inside their collateral window), beside the
 * raw ECDSA-P256 verify rate measured in the same run. A quote needs two
 * ECDSA verifications (QE report by the PCK, quote by the attestation key),
 * so the limit is half the raw rate. For `npm run bench:attest`.
 */
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import type { EvidenceVerifier } from '../../types.ts';
import { sgxVerifier } from '../../sgx/index.ts';
import { tdxVerifier } from '../../tdx/index.ts';
import { readEvidence } from './self-made.ts';

export interface DcapBench { ecdsaP256VerifyPerSec: number; limitPerSec: number; tdxPerSec: number; sgxPerSec: number; tdxOfLimit: number; sgxOfLimit: number }

async function rate(fn: () => unknown, ms: number): Promise<number> {
  await fn();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) { await fn(); n++; }
  return n / ((performance.now() - start) / 1000);
}

export async function benchDcap(ms = 2000): Promise<DcapBench> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const msg = Buffer.alloc(632, 1);
  const sig = createSign('sha256').update(msg).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' });
  const raw = await rate(() => createVerify('sha256').update(msg).verify({ key: publicKey, dsaEncoding: 'ieee-p1363' }, sig), ms);
  const now = new Date('2025-07-01T00:00:00Z');
  const run = (v: EvidenceVerifier, quote: string, collateral: string) => {
    const evidence = { quote: readEvidence(quote).toString('base64') };
    const ctx = { now, trust: { dcap: { collateral: JSON.parse(readEvidence(collateral).toString('utf8')) as Record<string, unknown>, acceptedTcbStatuses: ['UpToDate', 'ConfigurationAndSWHardeningNeeded'] } } };
    return rate(() => v.verify(evidence, ctx), ms);
  };
  const tdx = await run(tdxVerifier, 'tdx/dcap-qvl_tdx_quote.dat', 'tdx/dcap-qvl_tdx_quote_collateral.json');
  const sgx = await run(sgxVerifier, 'sgx/dcap-qvl_sgx_quote.dat', 'sgx/dcap-qvl_sgx_quote_collateral.json');
  const limit = raw / 2;
  return { ecdsaP256VerifyPerSec: Math.round(raw), limitPerSec: Math.round(limit), tdxPerSec: Math.round(tdx), sgxPerSec: Math.round(sgx), tdxOfLimit: +(tdx / limit).toFixed(2), sgxOfLimit: +(sgx / limit).toFixed(2) };
}
