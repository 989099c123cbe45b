import type { CollateralSource } from '../types.ts';

/** The first answer of `sources`, asked in order. */
export function firstOf(sources: CollateralSource[]): CollateralSource {
  return {
    async get(url) {
      for (const s of sources) {
        const body = await s.get(url);
        if (body) return body;
      }
      return undefined;
    },
  };
}

/** Routes by the URL's host: the first route whose suffix the host ends with (`amd.com`), else `fallback`. */
export function byHost(
  routes: Array<[hostSuffix: string, source: CollateralSource]>,
  fallback?: CollateralSource,
): CollateralSource {
  return {
    get(url) {
      let host: string;
      try {
        host = new URL(url).hostname;
      } catch {
        return Promise.resolve(undefined);
      }
      const route = routes.find(([suffix]) => host === suffix || host.endsWith('.' + suffix));
      return (route?.[1] ?? fallback)?.get(url) ?? Promise.resolve(undefined);
    },
  };
}

/** Treats a failed request as "unavailable" (for collateral the verifier can do without or find elsewhere). */
export function unavailableOnError(source: CollateralSource): CollateralSource {
  return { get: (url) => source.get(url).catch(() => undefined) };
}

/** Fixed answers by URL: trust material an operator handed in (a collateral file, pinned CRLs). */
export function staticCollateral(entries: Iterable<[url: string, body: Uint8Array]>): CollateralSource {
  const map = new Map(entries);
  return { get: async (url) => map.get(url) };
}
