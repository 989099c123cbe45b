import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runtimeSpec, runBundle, mergeEnv } from './index.ts';

const canRun = process.getuid?.() === 0 && spawnSync('runc', ['--version']).status === 0 && existsSync('/bin/busybox');
const skip = canRun ? false : 'needs root, runc and busybox-static (.ci/run installs them)';

function bundleWithBusybox() {
  const bundle = mkdtempSync(join(tmpdir(), 'cloak-bundle-'));
  const rootfs = join(bundle, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'etc'));
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  for (const a of ['sh', 'cat', 'echo', 'id']) spawnSync('ln', ['-s', 'busybox', join(rootfs, 'bin', a)]);
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:\n');
  return { bundle, rootfs, remove: () => rmSync(bundle, { recursive: true, force: true }) };
}

test('env merging: later entries win by name, first order kept', () => {
  assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['A=3', 'C']), ['A=3', 'B=2', 'C']);
});

test(
  'runc runs the image process as the image user, with read-only secrets, and returns its exit code',
  { skip },
  async () => {
    const b = bundleWithBusybox();
    const secrets = mkdtempSync(join('/dev/shm', 'cloak-secrets-'));
    try {
      writeFileSync(join(secrets, 'password'), 's3cret', { mode: 0o444 });
      chmodSync(secrets, 0o755);
      const spec = runtimeSpec({
        rootfs: b.rootfs,
        secretsDir: secrets,
        image: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['true'], User: 'app', Env: ['GREETING=hi'] },
        args: [
          'echo "$GREETING $(id -u) $(cat /run/cloak/secrets/password)"; (echo x > /run/cloak/secrets/w) 2>/dev/null || echo ro; exit 7',
        ],
      });
      let out = '';
      const code = await runBundle(b.bundle, spec, {
        id: `cloak-test-${process.pid}`,
        stdio: 'pipe',
        onOutput: (c) => (out += c),
      });
      assert.equal(code, 7, out);
      assert.equal(out, 'hi 1000 s3cret\nro\n');
    } finally {
      b.remove();
      rmSync(secrets, { recursive: true, force: true });
    }
  },
);
