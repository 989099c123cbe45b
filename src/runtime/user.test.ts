import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCloakError } from '../lib/index.ts';
import { resolveUser, MAX_USER_TABLE_BYTES } from './index.ts';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n';
const GROUP = 'root:x:0:\napp:x:1000:\nstaff:x:50:\n';

/** A rootfs holding etc/ as `layout` builds it, and a host-only passwd file outside it. */
function withRootfs(layout: (rootfs: string, outside: string) => void, fn: (rootfs: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-user-test-'));
  const rootfs = join(dir, 'rootfs');
  const outside = join(dir, 'host-passwd');
  writeFileSync(outside, 'hostonly:x:4242:4242::/:/bin/sh\n');
  mkdirSync(rootfs);
  try {
    layout(rootfs, outside);
    fn(rootfs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const plainEtc = (rootfs: string) => {
  mkdirSync(join(rootfs, 'etc'));
  writeFileSync(join(rootfs, 'etc/passwd'), PASSWD);
  writeFileSync(join(rootfs, 'etc/group'), GROUP);
};

test('image user resolution: names, ids, groups', () => {
  withRootfs(plainEtc, (rootfs) => {
    assert.deepEqual(resolveUser(rootfs, ''), { uid: 0, gid: 0 });
    assert.deepEqual(resolveUser(rootfs, 'app'), { uid: 1000, gid: 1000 });
    assert.deepEqual(resolveUser(rootfs, '1000'), { uid: 1000, gid: 1000 });
    assert.deepEqual(resolveUser(rootfs, 'app:staff'), { uid: 1000, gid: 50 });
    assert.deepEqual(resolveUser(rootfs, '42:43'), { uid: 42, gid: 43 });
    assert.deepEqual(resolveUser(rootfs, '42'), { uid: 42, gid: 0 });
    assert.throws(
      () => resolveUser(rootfs, 'ghost'),
      (e) => isCloakError(e, 'RUNTIME_USER_UNKNOWN') && /"ghost" is not in the image/.test((e as Error).message),
    );
    assert.throws(
      () => resolveUser(rootfs, 'app:ghosts'),
      (e) => isCloakError(e, 'RUNTIME_USER_UNKNOWN'),
    );
    assert.throws(
      () => resolveUser(rootfs, '99999999999'),
      (e) => isCloakError(e, 'RUNTIME_USER_UNKNOWN'),
    );
  });
  withRootfs(
    () => {},
    (rootfs) => {
      assert.deepEqual(resolveUser(rootfs, '7:8'), { uid: 7, gid: 8 }, 'numeric ids need no /etc');
      assert.throws(
        () => resolveUser(rootfs, 'app'),
        (e) => isCloakError(e, 'RUNTIME_USER_UNKNOWN'),
      );
    },
  );
});

// The layouts issue #13 used to read host files through the image's /etc, and their kin.
const HOSTILE: Array<{
  name: string;
  user: string;
  layout: (rootfs: string, outside: string) => void;
  message: RegExp;
}> = [
  {
    name: '/etc/passwd → /dev/zero',
    user: 'app',
    layout: (r) => {
      mkdirSync(join(r, 'etc'));
      symlinkSync('/dev/zero', join(r, 'etc/passwd'));
    },
    message: /\/etc\/passwd is a symbolic link/,
  },
  {
    name: '/etc/passwd → /etc/shadow',
    user: 'root',
    layout: (r) => {
      mkdirSync(join(r, 'etc'));
      symlinkSync('/etc/shadow', join(r, 'etc/passwd'));
    },
    message: /\/etc\/passwd is a symbolic link/,
  },
  {
    name: '/etc/passwd → a host-only passwd file',
    user: 'hostonly',
    layout: (r, o) => {
      mkdirSync(join(r, 'etc'));
      symlinkSync(o, join(r, 'etc/passwd'));
    },
    message: /\/etc\/passwd is a symbolic link/,
  },
  {
    name: '/etc/passwd → ../../host-passwd (relative)',
    user: 'hostonly',
    layout: (r) => {
      mkdirSync(join(r, 'etc'));
      symlinkSync('../../host-passwd', join(r, 'etc/passwd'));
    },
    message: /symbolic link/,
  },
  {
    name: '/etc/passwd → a file inside the rootfs',
    user: 'app',
    layout: (r) => {
      mkdirSync(join(r, 'etc'));
      writeFileSync(join(r, 'passwd'), PASSWD);
      symlinkSync('/passwd', join(r, 'etc/passwd'));
    },
    message: /symbolic link/,
  },
  {
    name: '/etc → /etc',
    user: 'nobody',
    layout: (r) => symlinkSync('/etc', join(r, 'etc')),
    message: /\/etc is a symbolic link/,
  },
  {
    name: '/etc/group → /etc/gshadow',
    user: 'app:root',
    layout: (r) => {
      plainEtc(r);
      rmSync(join(r, 'etc/group'));
      symlinkSync('/etc/gshadow', join(r, 'etc/group'));
    },
    message: /\/etc\/group is a symbolic link/,
  },
  {
    name: '/etc/passwd a fifo',
    user: 'app',
    layout: (r) => {
      mkdirSync(join(r, 'etc'));
      spawnSync('mkfifo', [join(r, 'etc/passwd')]);
    },
    message: /not a regular file/,
  },
  {
    name: '/etc/passwd a directory',
    user: 'app',
    layout: (r) => {
      mkdirSync(join(r, 'etc/passwd'), { recursive: true });
    },
    message: /not a regular file/,
  },
  {
    name: '/etc a file',
    user: 'app',
    layout: (r) => writeFileSync(join(r, 'etc'), PASSWD),
    message: /\/etc is not a directory/,
  },
  {
    name: '/etc/passwd over the size cap',
    user: 'app',
    layout: (r) => {
      mkdirSync(join(r, 'etc'));
      writeFileSync(join(r, 'etc/passwd'), PASSWD + '#'.repeat(MAX_USER_TABLE_BYTES));
    },
    message: /more than the 1048576/,
  },
];

for (const c of HOSTILE) {
  test(`hostile image user table refused: ${c.name}`, () => {
    withRootfs(c.layout, (rootfs) => {
      assert.throws(
        () => resolveUser(rootfs, c.user),
        (e) => isCloakError(e, 'RUNTIME_USER_TABLE_UNSAFE') && c.message.test((e as Error).message),
      );
    });
  });
}
