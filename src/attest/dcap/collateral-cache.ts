import type { CollateralSource } from '../types.ts';
import { fetchQuoteCollateral, type DcapTee, type PckCa, type QuoteCollateral } from './collateral.ts';
import { BoundedCache, cacheSlot, type VerifyCache } from '../cache.ts';

/**
 * How long collateral gathered from a source serves quotes before it is
 * gathered again (new TCB info or CRLs show up within this time). Each
 * document still has to be valid at the quote's `now` on every use.
 */
export const COLLATERAL_REUSE_MS = 10 * 60_000;

interface Gathered {
  at: number;
  value?: QuoteCollateral;
  pending?: Promise<QuoteCollateral>;
}
/** Per source: what it gave, by TEE, platform and CA. */
const GATHERED = cacheSlot<BoundedCache<Gathered>>('dcap.gathered', 0);

/**
 * `fetchQuoteCollateral`, reused per source, platform and TEE while the
 * verification time is within COLLATERAL_REUSE_MS of the gathering's:
 * synchronously once gathered (the per-quote path of a server; the same
 * object also keeps the verified documents' cache hot), one gathering shared
 * by concurrent quotes, and a failed gathering is not kept. Without a cache,
 * every call gathers.
 */
export function gatheredCollateral(
  source: CollateralSource,
  tee: DcapTee,
  fmspc: string,
  ca: PckCa,
  now: Date,
  cache?: VerifyCache,
): QuoteCollateral | Promise<QuoteCollateral> {
  if (!cache) return fetchQuoteCollateral(source, tee, fmspc, ca);
  const entries = cache.derive(GATHERED, source, () => new BoundedCache<Gathered>(256));
  const key = `${tee}:${fmspc}:${ca}`;
  const t = now.getTime();
  const hit = entries.get(key);
  if (hit && Math.abs(t - hit.at) < COLLATERAL_REUSE_MS) return hit.value ?? hit.pending!;
  const entry: Gathered = { at: t };
  entry.pending = fetchQuoteCollateral(source, tee, fmspc, ca).then(
    (value) => {
      entry.value = value;
      entry.pending = undefined;
      return value;
    },
    (e: unknown) => {
      if (entries.get(key) === entry) entries.delete(key);
      throw e;
    },
  );
  entries.set(key, entry);
  return entry.pending;
}
