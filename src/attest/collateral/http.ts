import type { CollateralSource } from '../types.ts';

export interface HttpCollateralOptions {
  /** The fetch to use (injected: nothing in src/attest reaches the network on its own). */
  fetch: typeof globalThis.fetch;
  /** Clock for cache expiry. */
  now: () => number;
  /** How long a fetched body is served from memory, ms (default 1 hour). */
  ttlMs?: number;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
}

/**
 * A caching HTTP CollateralSource (AMD KDS, Intel PCS …). Only 200 answers
 * are cached; 404 and errors give undefined. Concurrent requests for one URL
 * share a single fetch.
 */
export function httpCollateral(opts: HttpCollateralOptions): CollateralSource {
  const ttl = opts.ttlMs ?? 3_600_000;
  const cache = new Map<string, { at: number; body: Uint8Array }>();
  const inflight = new Map<string, Promise<Uint8Array | undefined>>();
  const load = async (url: string): Promise<Uint8Array | undefined> => {
    try {
      const res = await opts.fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
      if (!res.ok) return undefined;
      const body = new Uint8Array(await res.arrayBuffer());
      cache.set(url, { at: opts.now(), body });
      return body;
    } catch {
      return undefined;
    } finally {
      inflight.delete(url);
    }
  };
  return {
    get(url: string): Promise<Uint8Array | undefined> {
      const hit = cache.get(url);
      if (hit && opts.now() - hit.at < ttl) return Promise.resolve(hit.body);
      let p = inflight.get(url);
      if (!p) { p = load(url); inflight.set(url, p); }
      return p;
    },
  };
}
