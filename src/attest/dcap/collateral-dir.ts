import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CollateralSource } from '../types.ts';
import { collateralFileName } from './collateral.ts';

/**
 * An offline collateral directory: each PCS URL is a file named by
 * `collateralFileName(url)` (issuer chains as `…_TCB-Info-Issuer-Chain` etc.).
 * Missing files are "unavailable", never a network fetch.
 */
export function directoryCollateralSource(dir: string): CollateralSource {
  return {
    async get(url: string) {
      try { return await readFile(join(dir, collateralFileName(url))); } catch { return undefined; }
    },
  };
}
