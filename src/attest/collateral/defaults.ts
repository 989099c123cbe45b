import { readFileSync, statSync } from 'node:fs';
import { CloakError } from '../../lib/index.ts';
import type { CollateralSource } from '../types.ts';
import { byHost } from './compose.ts';
import { directoryCollateral } from './directory.ts';
import { httpCollateral, type FetchLike } from './http.ts';
import { pcsCollateralSource } from './pcs.ts';
import { qvlCollateral } from './qvl.ts';

/**
 * Collateral an operator hands in, as `cloak serve --collateral` and every
 * `cloak verify … --collateral` read it: a directory of vendor responses
 * (AMD KDS and Intel PCS, see `directoryCollateral`) or a collateral file
 * (dcap-qvl's JSON for one Intel platform).
 */
export function operatorCollateral(path: string): CollateralSource {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st)
    throw new CloakError(
      'COLLATERAL_PATH_MISSING',
      `collateral ${path} does not exist: give a directory of vendor responses or a collateral JSON file`,
    );
  return st.isDirectory() ? directoryCollateral(path) : qvlCollateral(readFileSync(path));
}

/**
 * The server's collateral: the operator's (offline, nothing fetched) when
 * given, else fetched and cached: AMD KDS for SNP (a failed request counts
 * as unavailable), Intel PCS with its issuer-chain headers for TDX and SGX.
 */
export function defaultCollateral(opts: { path?: string; fetch: FetchLike; now: () => number }): CollateralSource {
  if (opts.path) return operatorCollateral(opts.path);
  const amd = httpCollateral({ fetch: opts.fetch, now: opts.now });
  const intel = pcsCollateralSource(opts.fetch, { clock: opts.now });
  return byHost([['amd.com', amd]], intel);
}
