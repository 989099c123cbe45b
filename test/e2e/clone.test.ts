// The repository on its own: a clone of this commit in an empty directory (no ../shared beside it)
// runs a capture-based and a vector-based test file. Without CLOAK_TESTDATA they report skipped,
// with the reason; with CLOAK_TESTDATA naming the real data (found here through the same locator)
// they pass. The clone borrows this checkout's node_modules (a symlink), so no npm ci is needed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { testdata, testdataRoot } from '../../src/lib/testing/testdata.ts';
import { findRegoEngine } from '../../src/k8s/policy/testing/rego.ts';
import { repoRoot, tempDir } from './harness.ts';

const FILES = ['src/attest/tpm/tpm.test.ts', 'src/k8s/policy/kata-vectors.test.ts'];
const { engine } = findRegoEngine();
const skip =
  testdata('evidence').skip ||
  testdata('kata-policy').skip ||
  (engine ? false : 'needs a Rego engine for the vector test (CLOAK_REGO)');

const dir = tempDir('cloak-clone-');
after(() => dir.remove());

/** node --test on FILES inside the clone; the TAP summary counts and the whole output. */
function runTests(clone: string, env: NodeJS.ProcessEnv): { pass: number; fail: number; skipped: number; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', ...FILES], {
    cwd: clone,
    env,
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(r.stdout)?.[1] ?? NaN);
  return { pass: count('pass'), fail: count('fail'), skipped: count('skipped'), out: r.stdout + r.stderr };
}

test(
  'a lone clone: the tests that need the real captures and vectors skip with the reason, and pass with CLOAK_TESTDATA',
  { skip, timeout: 30 * 60_000 },
  () => {
    const clone = join(dir.path, 'cloak');
    const head = spawnSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    for (const args of [
      ['clone', '--quiet', '--no-checkout', repoRoot, clone],
      ['-C', clone, 'checkout', '--quiet', head],
    ]) {
      const r = spawnSync('git', args, { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    assert.ok(!existsSync(join(clone, '..', 'shared')), 'nothing beside the clone');
    symlinkSync(realpathSync(join(repoRoot, 'node_modules')), join(clone, 'node_modules'));
    const env: NodeJS.ProcessEnv = { ...process.env, CLOAK_REGO: engine!.path };
    delete env.CLOAK_TESTDATA;
    delete env.NODE_TEST_CONTEXT; // the child is a test run of its own, not a subtest of this one

    const alone = runTests(clone, env);
    assert.equal(alone.fail, 0, alone.out);
    assert.equal(alone.pass, 1, 'only the SELF-MADE TPM test runs');
    assert.ok(alone.skipped >= 4, alone.out);
    assert.match(
      alone.out,
      /# SKIP needs the real test data .*\/shared\/testdata\/evidence\/, which is not in the repository: set CLOAK_TESTDATA/,
    );
    assert.match(alone.out, /# SKIP needs the real test data .*\/shared\/testdata\/kata-policy\//);

    const withData = runTests(clone, { ...env, CLOAK_TESTDATA: testdataRoot() });
    assert.equal(withData.fail, 0, withData.out);
    assert.equal(withData.skipped, 0, withData.out);
    assert.equal(withData.pass, alone.pass + alone.skipped);
  },
);
