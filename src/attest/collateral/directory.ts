import { readFile } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import type { CollateralSource } from '../types.ts';

/**
 * The files a directory holds for `url`, most specific first:
 * `<host>/<path>?<query>` with `?` → `_`, then `<host>/<path>` (query
 * dropped), then `<path>` without the host. For example the Milan CRL is
 * `kdsintf.amd.com/vcek/v1/Milan/crl` or `vcek/v1/Milan/crl`.
 */
export function directoryCandidates(url: string): string[] {
  let u: URL;
  try { u = new URL(url); } catch { return []; }
  const path = decodeURIComponent(u.pathname).replace(/^\/+/, '');
  const query = u.search ? '_' + u.search.slice(1) : '';
  const list = [join(u.host, path + query), join(u.host, path), path];
  return [...new Set(list)].filter((p) => p !== '' && !normalize(p).split(sep).includes('..'));
}

/** A CollateralSource that serves a mirror of the collateral URLs from a local directory (offline use). */
export function directoryCollateral(dir: string): CollateralSource {
  return {
    async get(url: string): Promise<Uint8Array | undefined> {
      for (const rel of directoryCandidates(url)) {
        try { return await readFile(join(dir, rel)); } catch { /* try the next form */ }
      }
      return undefined;
    },
  };
}
