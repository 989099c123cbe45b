import { existsSync, readFileSync, statSync } from 'node:fs';
import { CloakError } from '../lib/errors.ts';
import type { CollateralSource } from '../attest/index.ts';

/** Inputs every `cloak verify` subcommand takes alike. */

/** `--at`: the RFC 3339 time to verify as of; now when not given. */
export function verifyTime(at: string | undefined): Date {
  if (at === undefined) return new Date();
  const now = new Date(at);
  if (Number.isNaN(now.getTime()) || !/^\d{4}-\d\d-\d\dT/.test(at)) throw new CloakError('USAGE_AT', `--at ${at} is not an RFC 3339 time (e.g. 2025-07-01T00:00:00Z)`);
  return now;
}

/** The bytes of an input file; a missing file (or a directory) is a usage error. `flag` names the option it came from. */
export function readInputFile(file: string, flag = ''): Buffer {
  if (!existsSync(file) || !statSync(file).isFile()) throw new CloakError('USAGE_FILE', `${flag}${file} does not exist or is not a file`);
  return readFileSync(file);
}

/** `--collateral PATH`, read as `cloak serve --collateral` reads it: a directory of vendor responses or a collateral JSON file. */
export async function collateralOption(path: string | undefined): Promise<CollateralSource | undefined> {
  if (path === undefined) return undefined;
  if (!existsSync(path)) throw new CloakError('USAGE_COLLATERAL', `--collateral ${path} does not exist`);
  return (await import('../attest/collateral/index.ts')).operatorCollateral(path);
}
