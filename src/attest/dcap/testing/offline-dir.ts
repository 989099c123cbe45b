import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collateralFileName } from '../../collateral/directory.ts';
import { qvlResponses } from '../../collateral/qvl.ts';
import { loadQuoteCollateral, type DcapTee, type PckCa } from '../collateral.ts';

/**
 * Writes dcap-qvl's collateral JSON (the real captures' form) as a fresh
 * offline directory of Intel PCS v4 responses, one file per URL, the layout
 * `cloak serve --collateral DIR` reads. The caller removes the directory.
 */
export function writeOfflineCollateralDir(qvl: Record<string, string>, tee: DcapTee, fmspc: string, ca: PckCa): string {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-dcap-'));
  for (const [url, body] of qvlResponses(loadQuoteCollateral(qvl), tee, fmspc, ca))
    writeFileSync(join(dir, collateralFileName(url)), body);
  return dir;
}
