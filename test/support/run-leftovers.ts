import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RUN_ROOT } from '../../src/runtime/index.ts';

const list = (filter: (n: string) => boolean = () => true) => {
  try {
    return readdirSync(DEFAULT_RUN_ROOT)
      .filter(filter)
      .map((n) => join(DEFAULT_RUN_ROOT, n));
  } catch {
    return [];
  }
};

/** The run directories `cloak run` could leave behind (it keeps nothing anywhere else). */
export function runLeftovers(): Set<string> {
  return new Set(list());
}

/** Run directories that were not there before (live or crashed runs elsewhere on the machine are not ours). */
export function newLeftovers(before: Set<string>): string[] {
  return [...runLeftovers()].filter((p) => !before.has(p));
}

/** The run directories of the `cloak run` process `pid`. */
export function runDirsOf(pid: number): string[] {
  return list((n) => n.startsWith(`${pid}-`));
}
