import type { CollateralSource } from '../types.ts';

/**
 * A source where one request answers several URLs: an HTTP response's body
 * under its URL and each of its headers under `URL#header-name` (Intel PCS
 * sends issuer chains as headers). Caches keep a response whole.
 */
export interface ResponseSource extends CollateralSource {
  /** Everything one request for `url` (no fragment) answers, keyed as `get` is asked; undefined when unavailable. */
  response(url: string): Promise<Map<string, Uint8Array> | undefined>;
}

export const isResponseSource = (s: CollateralSource): s is ResponseSource =>
  typeof (s as Partial<ResponseSource>).response === 'function';

/** `URL#Header-Name` → the URL to request and the key of its answer (header names are case-insensitive). */
export function splitFragment(url: string): { base: string; key: string } {
  const i = url.indexOf('#');
  if (i < 0) return { base: url, key: url };
  const base = url.slice(0, i);
  return { base, key: `${base}#${url.slice(i + 1).toLowerCase()}` };
}
