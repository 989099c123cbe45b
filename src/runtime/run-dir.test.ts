import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isCloakError } from '../lib/index.ts';
import {
  createRunDir,
  sweepDeadRuns,
  processStartTime,
  claimIdRange,
  hostIds,
  ID_RANGE_BASE,
  ID_RANGE_SIZE,
} from './index.ts';

const root = process.getuid?.() === 0;
const skip = root ? false : 'needs root (chown)';

function tmpRunRoot() {
  const dir = mkdtempSync('/dev/shm/cloak-run-dir-test-');
  return { runRoot: join(dir, 'runs'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A pid that no process has any more. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

test('a run directory is private: runs root 0711, run 0710 with the container root as group', { skip }, () => {
  const t = tmpRunRoot();
  try {
    const run = createRunDir(ID_RANGE_BASE);
    const inRoot = createRunDir(ID_RANGE_BASE + 5, t.runRoot);
    assert.equal(lstatSync(t.runRoot).mode & 0o7777, 0o711);
    const st = lstatSync(inRoot.path);
    assert.equal(st.mode & 0o7777, 0o710);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, ID_RANGE_BASE + 5);
    assert.match(inRoot.path, new RegExp(`/${process.pid}-${processStartTime(process.pid)}-\\w{6}$`));
    run.remove();
    inRoot.remove();
    assert.equal(existsSync(inRoot.path), false);
  } finally {
    t.remove();
  }
});

test('a runs root owned by someone else, a symlink, or on disk is refused', { skip }, () => {
  const t = tmpRunRoot();
  try {
    mkdirSync(t.runRoot);
    spawnSync('chown', ['65534', t.runRoot]);
    assert.throws(
      () => createRunDir(ID_RANGE_BASE, t.runRoot),
      (e) => isCloakError(e, 'RUNTIME_RUN_ROOT_UNSAFE'),
    );
    rmSync(t.runRoot, { recursive: true });
    symlinkSync('/tmp', t.runRoot);
    assert.throws(
      () => createRunDir(ID_RANGE_BASE, t.runRoot),
      (e) => isCloakError(e, 'RUNTIME_RUN_ROOT_UNSAFE'),
    );
  } finally {
    t.remove();
  }
  const onDisk = mkdtempSync('/var/tmp/cloak-run-dir-test-');
  try {
    assert.throws(
      () => createRunDir(ID_RANGE_BASE, join(onDisk, 'runs')),
      (e) => isCloakError(e, 'RUNTIME_RUN_ROOT_NOT_MEMORY'),
    );
  } finally {
    rmSync(onDisk, { recursive: true, force: true });
  }
});

test(
  'the sweep removes runs whose process is gone (or whose pid now belongs to another process), never a live one',
  { skip },
  () => {
    const t = tmpRunRoot();
    try {
      const live = createRunDir(ID_RANGE_BASE, t.runRoot);
      const dead = join(t.runRoot, `${deadPid()}-12345-abcdef`);
      const reused = join(t.runRoot, `${process.pid}-1-abcdef`);
      for (const d of [dead, reused]) {
        mkdirSync(join(d, 'rootfs'), { recursive: true });
        writeFileSync(join(d, 'rootfs', 'plain'), 'x');
      }
      writeFileSync(join(dead, 'container'), 'cloak-test-no-such-container');
      const other = join(t.runRoot, 'not-a-run');
      mkdirSync(other);
      const removed = sweepDeadRuns(t.runRoot);
      assert.equal(removed.length, 2);
      assert.ok(
        removed.some(
          (m) => m.includes(dead) && /killed, and stopped its container cloak-test-no-such-container/.test(m),
        ),
        removed.join('\n'),
      );
      assert.deepEqual(readdirSync(t.runRoot).sort(), [live.path.split('/').pop(), 'not-a-run'].sort());
      live.remove();
    } finally {
      t.remove();
    }
  },
);

test(
  'host id ranges: two live runs never share one; container ids map into the range, ids it cannot hold to its nobody',
  { skip },
  async () => {
    const a = await claimIdRange();
    const b = await claimIdRange();
    try {
      assert.notEqual(a.hostId, b.hostId);
      for (const r of [a, b])
        assert.ok(
          r.hostId >= ID_RANGE_BASE &&
            (r.hostId - ID_RANGE_BASE) % ID_RANGE_SIZE === 0 &&
            r.hostId + r.size - 1 < 2 ** 32 - 1,
        );
      const map = hostIds(a);
      assert.deepEqual(
        [0, 1000, ID_RANGE_SIZE - 1, ID_RANGE_SIZE, 70000, 2 ** 32 - 2].map((id) => map(id) - a.hostId),
        [0, 1000, ID_RANGE_SIZE - 1, 65534, 65534, 65534],
      );
    } finally {
      a.release();
      b.release();
    }
  },
);
