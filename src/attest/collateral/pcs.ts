import type { CollateralSource } from '../types.ts';
import { cachedCollateral } from './cache.ts';
import { httpSource, type FetchLike } from './http.ts';

/** The response headers Intel PCS v4 sends issuer chains in, asked for as `URL#Header-Name`. */
export const PCS_ISSUER_CHAIN_HEADERS = [
  'TCB-Info-Issuer-Chain',
  'SGX-Enclave-Identity-Issuer-Chain',
  'SGX-PCK-CRL-Issuer-Chain',
] as const;

/**
 * Intel PCS v4 through an injected `fetch` (nothing here opens a connection
 * by itself): bodies and issuer-chain headers from one request, cached for
 * `ttlMs` (clock injectable, default the wall clock). A failed request
 * throws DCAP_COLLATERAL_UNAVAILABLE; verification still checks each
 * document's own dates.
 */
export function pcsCollateralSource(
  fetchFn: FetchLike,
  opts: { ttlMs?: number; clock?: () => number; timeoutMs?: number } = {},
): CollateralSource {
  const http = httpSource({
    fetch: fetchFn,
    timeoutMs: opts.timeoutMs,
    headers: PCS_ISSUER_CHAIN_HEADERS,
    unavailable: {
      code: 'DCAP_COLLATERAL_UNAVAILABLE',
      hint: 'check network access to Intel PCS, or pass an offline collateral directory',
    },
  });
  return cachedCollateral(http, { now: opts.clock ?? Date.now, ttlMs: opts.ttlMs });
}
