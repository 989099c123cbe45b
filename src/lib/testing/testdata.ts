/**
 * Where the tests find the real captures and vectors they read (TEE evidence, Kata's agent-policy
 * vectors). They are data fetched from elsewhere, so the repository does not carry them:
 * CLOAK_TESTDATA names their folder, else it is ../shared/testdata beside the repository root.
 * A test that needs them passes `skip` to node:test, so a lone clone reports it skipped, with the
 * reason, instead of failing on a missing folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The testdata folder in force: CLOAK_TESTDATA, else <repo root>/../shared/testdata. */
export function testdataRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.CLOAK_TESTDATA ? resolve(env.CLOAK_TESTDATA) : join(REPO_ROOT, '..', 'shared', 'testdata');
}

export interface Testdata {
  /** The set's folder, with a trailing slash (so `${dir}file` and `new URL(file, url)` work). */
  dir: string;
  url: URL;
  /** false when present; else the reason to skip, for node:test's `skip` option. */
  skip: string | false;
  path(file: string): string;
  read(file: string): Buffer;
  text(file: string): string;
  json<T = any>(file: string): T;
}

/** One set of the testdata folder: `evidence` (real TEE captures) or `kata-policy` (Kata's vectors). */
export function testdata(set: 'evidence' | 'kata-policy'): Testdata {
  const root = testdataRoot();
  const dir = join(root, set) + '/';
  const skip = existsSync(dir)
    ? false
    : `needs the real test data ${dir}, which is not in the repository: ` +
      (process.env.CLOAK_TESTDATA
        ? `CLOAK_TESTDATA=${process.env.CLOAK_TESTDATA} has no ${set}/`
        : 'set CLOAK_TESTDATA to the testdata folder, or put shared/testdata beside the repository');
  const path = (file: string) => join(dir, file);
  return {
    dir,
    url: pathToFileURL(dir),
    skip,
    path,
    read: (file) => readFileSync(path(file)),
    text: (file) => readFileSync(path(file), 'utf8'),
    json: (file) => JSON.parse(readFileSync(path(file), 'utf8')),
  };
}
