import { readFile } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import type { CollateralSource } from '../types.ts';

/**
 * The mirrored forms of `url` a collateral directory may hold, most
 * specific first: `<host>/<path>?<query>` with `?` → `_`, then
 * `<host>/<path>` (query dropped), then `<path>` without the host. For
 * example the Milan CRL is `kdsintf.amd.com/vcek/v1/Milan/crl` or
 * `vcek/v1/Milan/crl`. A `#Header-Name` (Intel's issuer chains) adds
 * `_Header-Name` to each.
 */
export function directoryCandidates(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const path = decodeURIComponent(u.pathname).replace(/^\/+/, '');
  const query = u.search ? '_' + u.search.slice(1) : '';
  const header = u.hash ? '_' + u.hash.slice(1) : '';
  const list = [join(u.host, path + query + header), join(u.host, path + header), path + header];
  return [...new Set(list)].filter((p) => p !== '' && p !== header && !normalize(p).split(sep).includes('..'));
}

/**
 * The flat form of `url`: one file per URL, every run of other characters
 * than letters, digits, `.`, `_`, `-` as `_` (so never a path), e.g.
 * `api.trustedservices.intel.com_tdx_certification_v4_tcb_fmspc_B0C06F000000`
 * and its issuer chain `…_TCB-Info-Issuer-Chain`.
 */
export function collateralFileName(url: string): string {
  return url.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9._-]+/g, '_');
}

/**
 * An offline collateral directory (AMD KDS, Intel PCS, any vendor): each
 * URL is a file in one of its mirrored forms (`directoryCandidates`) or its
 * flat form (`collateralFileName`). A missing file is "unavailable", never
 * a network fetch.
 */
export function directoryCollateral(dir: string): CollateralSource {
  return {
    async get(url: string): Promise<Uint8Array | undefined> {
      for (const rel of [...directoryCandidates(url), collateralFileName(url)]) {
        try {
          return await readFile(join(dir, rel));
        } catch {
          /* try the next form */
        }
      }
      return undefined;
    },
  };
}
