import { CloakError, type ErrorCode } from '../../lib/index.ts';
import type { CollateralSource } from '../types.ts';
import { cachedCollateral } from './cache.ts';
import { unavailableOnError } from './compose.ts';
import { splitFragment, type ResponseSource } from './response.ts';

/** The part of `fetch` a collateral source uses (the global fetch fits; tests inject their own). */
export type FetchLike = (
  url: string,
  init?: { signal?: AbortSignal },
) => Promise<{
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

export interface HttpSourceOptions {
  /** The fetch to use (injected: nothing in src/attest reaches the network on its own). */
  fetch: FetchLike;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
  /** Response headers served as `URL#Header-Name` (URL-decoded), e.g. Intel PCS's issuer chains. */
  headers?: readonly string[];
  /** The error a failed request (network, timeout) throws: its code and what the user can do. */
  unavailable?: { code: ErrorCode; hint: string };
}

/**
 * The one HTTP collateral source (AMD KDS, Intel PCS, …): a request per
 * URL with a timeout, concurrent requests for one URL sharing it, and the
 * listed response headers answered as `URL#Header-Name`. A non-2xx answer
 * is "unavailable" (undefined); a failed request throws. No caching: wrap it
 * in `cachedCollateral`.
 */
export function httpSource(opts: HttpSourceOptions): ResponseSource {
  const inflight = new Map<string, Promise<Map<string, Uint8Array> | undefined>>();
  const unavailable = opts.unavailable ?? {
    code: 'COLLATERAL_UNAVAILABLE',
    hint: 'check network access to the vendor, or pass an offline collateral directory',
  };
  const load = async (url: string): Promise<Map<string, Uint8Array> | undefined> => {
    try {
      const res = await opts.fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
      if (!res.ok) return undefined;
      const entries = new Map<string, Uint8Array>([[url, new Uint8Array(await res.arrayBuffer())]]);
      for (const h of opts.headers ?? []) {
        const v = res.headers.get(h);
        if (v) entries.set(`${url}#${h.toLowerCase()}`, Buffer.from(decodeURIComponent(v), 'utf8'));
      }
      return entries;
    } catch (e) {
      throw new CloakError(unavailable.code, `fetching ${url} failed: ${unavailable.hint}`, { cause: e });
    } finally {
      inflight.delete(url);
    }
  };
  const response = (url: string): Promise<Map<string, Uint8Array> | undefined> => {
    let p = inflight.get(url);
    if (!p) {
      p = load(url);
      inflight.set(url, p);
    }
    return p;
  };
  return {
    response,
    async get(url: string) {
      const { base, key } = splitFragment(url);
      return (await response(base))?.get(key);
    },
  };
}

export interface HttpCollateralOptions {
  fetch: FetchLike;
  /** Clock for cache expiry. */
  now: () => number;
  /** How long a fetched body is served from memory, ms (default 1 hour). */
  ttlMs?: number;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
}

/** AMD KDS as the server uses it: cached for the TTL, and a failed request is "unavailable" (the VEK may come from elsewhere). */
export function httpCollateral(opts: HttpCollateralOptions): CollateralSource {
  return unavailableOnError(
    cachedCollateral(httpSource({ fetch: opts.fetch, timeoutMs: opts.timeoutMs }), {
      now: opts.now,
      ttlMs: opts.ttlMs,
    }),
  );
}
