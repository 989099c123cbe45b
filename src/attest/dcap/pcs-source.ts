import { CloakError } from '../../lib/index.ts';
import type { CollateralSource } from '../types.ts';

export type FetchLike = (url: string) => Promise<{ ok: boolean; status: number; headers: { get(name: string): string | null }; arrayBuffer(): Promise<ArrayBuffer> }>;

/**
 * A CollateralSource over Intel PCS v4 through an injected `fetch` (nothing
 * here opens a connection by itself). `URL#Header-Name` answers with that
 * header of URL's response, URL-decoded. Responses are cached for `ttlMs`
 * (clock injectable, default the wall clock); verification still checks
 * each document's own dates.
 */
export function pcsCollateralSource(fetchFn: FetchLike, opts: { ttlMs?: number; clock?: () => number } = {}): CollateralSource {
  const ttl = opts.ttlMs ?? 3600_000;
  const clock = opts.clock ?? Date.now;
  const cache = new Map<string, { at: number; body: Uint8Array; headers: Map<string, string> }>();
  async function load(url: string) {
    const hit = cache.get(url);
    if (hit && clock() - hit.at < ttl) return hit;
    const res = await fetchFn(url).catch((e: unknown) => { throw new CloakError('DCAP_COLLATERAL_UNAVAILABLE', `fetching ${url} failed: check network access to Intel PCS, or pass an offline collateral directory`, { status: 502, cause: e }); });
    if (!res.ok) return undefined;
    const headers = new Map<string, string>();
    for (const h of ['TCB-Info-Issuer-Chain', 'SGX-Enclave-Identity-Issuer-Chain', 'SGX-PCK-CRL-Issuer-Chain']) {
      const v = res.headers.get(h);
      if (v) headers.set(h.toLowerCase(), decodeURIComponent(v));
    }
    const entry = { at: clock(), body: new Uint8Array(await res.arrayBuffer()), headers };
    cache.set(url, entry);
    return entry;
  }
  return {
    async get(url: string) {
      const [base, header] = url.split('#', 2) as [string, string | undefined];
      const entry = await load(base);
      if (!entry) return undefined;
      if (header === undefined) return entry.body;
      const v = entry.headers.get(header.toLowerCase());
      return v === undefined ? undefined : Buffer.from(v, 'utf8');
    },
  };
}
