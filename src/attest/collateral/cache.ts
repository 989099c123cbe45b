import type { CollateralSource } from '../types.ts';
import { isResponseSource, splitFragment } from './response.ts';

export interface CollateralCacheOptions {
  /** Clock for expiry, ms. */
  now: () => number;
  /** How long an answer is served from memory, ms (default 1 hour). */
  ttlMs?: number;
  /** At most this many responses are kept; the oldest goes first (default 1024). */
  maxEntries?: number;
}

/**
 * Serves what `inner` answered from memory for `ttlMs`: whole responses of
 * a ResponseSource (a body and its headers from one request), single
 * answers otherwise. Only answers are kept; "unavailable" and errors are
 * asked again next time. Verification still checks each document's dates.
 */
export function cachedCollateral(inner: CollateralSource, opts: CollateralCacheOptions): CollateralSource {
  const ttl = opts.ttlMs ?? 3_600_000;
  const max = opts.maxEntries ?? 1024;
  const cache = new Map<string, { at: number; entries: Map<string, Uint8Array> }>();
  const fetchEntries = async (base: string, key: string): Promise<Map<string, Uint8Array> | undefined> => {
    if (isResponseSource(inner)) return inner.response(base);
    const body = await inner.get(key);
    return body && new Map([[key, body]]);
  };
  return {
    async get(url: string) {
      const { base, key } = splitFragment(url);
      const id = isResponseSource(inner) ? base : key;
      const hit = cache.get(id);
      if (hit && opts.now() - hit.at < ttl) return hit.entries.get(key);
      const entries = await fetchEntries(base, key);
      if (!entries) return undefined;
      cache.delete(id);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(id, { at: opts.now(), entries });
      return entries.get(key);
    },
  };
}
