import { existsSync, readFileSync, statSync } from 'node:fs';
import { CloakError } from '../lib/errors.ts';

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
