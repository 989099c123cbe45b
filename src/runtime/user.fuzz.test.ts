/**
 * Fuzz of `cloak run`'s image user resolution (issue #13, finding 3):
 * mutated /etc/passwd and /etc/group contents and link layouts, with every
 * link that leaves the rootfs pointing at sentinel files whose users and ids
 * would show up in a result. Zero reads outside the rootfs, zero untyped
 * exceptions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCloakError } from '../lib/index.ts';
import { resolveUser, MAX_USER_TABLE_BYTES } from './user.ts';
import { FUZZ_ITERATIONS, mutator } from '../lib/testing/mutator.ts';

/** Ids and a user that exist only outside the rootfs: any of them in a result means a host file was read. */
const SENTINEL_IDS = new Set([3141592653, 2718281828, 1618033988, 1414213562]);
const SENTINEL_PASSWD =
  'sentinel-only:x:3141592653:2718281828::/:/bin/sh\nroot:x:3141592653:2718281828::/:/bin/sh\napp:x:1618033988:1414213562::/:/bin/sh\n';
const SENTINEL_GROUP = 'sentinel-only:x:1618033988:\nroot:x:1414213562:\nstaff:x:2718281828:\n';
const PASSWD =
  'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n# comment\nnobody:x:65534:65534::/:/bin/false\n';
const GROUP = 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n';
const USERS = [
  '',
  'root',
  'app',
  'nobody',
  'sentinel-only',
  'ghost',
  '0',
  '1000',
  '3000000000',
  '4294967294',
  '4294967295',
  'app:staff',
  'app:root',
  'root:sentinel-only',
  'sentinel-only:root',
  '1000:sentinel-only',
  '1000:50',
  'app:',
  ':staff',
  '::',
  'app:staff:x',
];

test(`fuzz: image user resolution reads nothing outside the rootfs and throws only CloakError (${FUZZ_ITERATIONS} seeded layouts)`, () => {
  const base = mkdtempSync(join(tmpdir(), 'cloak-user-fuzz-'));
  const outside = join(base, 'outside');
  mkdirSync(join(outside, 'etc'), { recursive: true });
  for (const [name, text] of [
    ['passwd', SENTINEL_PASSWD],
    ['group', SENTINEL_GROUP],
  ] as const) {
    writeFileSync(join(outside, name), text);
    writeFileSync(join(outside, 'etc', name), text);
  }
  spawnSync('mkfifo', [join(outside, 'fifo')]);
  const rootfs = join(base, 'rootfs');
  const { rand, mutate } = mutator(1313);
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  const content = (valid: string) => {
    let b: Buffer = Buffer.from(valid);
    for (let k = rand(4); k >= 0; k--) b = mutate(b);
    if (rand(4) === 0)
      b = Buffer.concat([
        b,
        Buffer.from(
          pick([
            '\n',
            ':::::\n',
            'x:x:-1:-1\n',
            'x:x:1e3:0x10\n',
            'app:x: 1000:1000\n',
            'app:x:99999999999:1\n',
            '\u0661\u0660:x:1:1\n',
            '+app:x:5:5\n',
          ]),
        ),
      ]);
    return b;
  };

  /** etc/NAME as one of the layouts an image can hold: a (mutated) file, or links that leave the rootfs or stay inside. */
  const table = (name: 'passwd' | 'group', valid: string) => {
    const at = join(rootfs, 'etc', name);
    switch (rand(24)) {
      case 0:
        symlinkSync(join(outside, name), at);
        break;
      case 1:
        symlinkSync(`../../outside/${name}`, at);
        break;
      case 2:
        symlinkSync('/dev/zero', at);
        break;
      case 3:
        symlinkSync(join(outside, 'fifo'), at);
        break;
      case 4:
        writeFileSync(join(rootfs, name), content(valid));
        symlinkSync(`/${name}`, at);
        break;
      case 5:
        symlinkSync(name, at);
        break; // a loop
      case 6:
        mkdirSync(at);
        break;
      case 7:
        break; // absent
      case 8:
        linkSync(join(outside, name), join(rootfs, `${name}.hard`));
        writeFileSync(at, content(valid));
        break; // a hard link elsewhere in the rootfs, not the table
      case 9:
        if (rand(50) === 0)
          writeFileSync(at, Buffer.concat([Buffer.from(valid), Buffer.alloc(MAX_USER_TABLE_BYTES, 0x23)]));
        else writeFileSync(at, content(valid));
        break;
      default:
        writeFileSync(at, content(valid));
    }
  };

  let resolved = 0;
  const codes = new Map<string, number>();
  try {
    for (let i = 0; i < FUZZ_ITERATIONS; i++) {
      rmSync(rootfs, { recursive: true, force: true });
      mkdirSync(rootfs);
      const etcLayout = rand(10);
      if (etcLayout === 0) symlinkSync(join(outside, 'etc'), join(rootfs, 'etc'));
      else if (etcLayout === 1) symlinkSync('../outside/etc', join(rootfs, 'etc'));
      else if (etcLayout === 2) writeFileSync(join(rootfs, 'etc'), PASSWD);
      else if (etcLayout !== 3) {
        mkdirSync(join(rootfs, 'etc'));
        table('passwd', PASSWD);
        table('group', GROUP);
      }
      const user = rand(3) === 0 ? mutate(Buffer.from(pick(USERS))).toString('utf8') : pick(USERS);
      let r;
      try {
        r = resolveUser(rootfs, user);
      } catch (e) {
        if (!isCloakError(e)) assert.fail(`case ${i}: ${JSON.stringify(user)}: non-CloakError: ${(e as Error).stack}`);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        continue;
      }
      resolved++;
      for (const id of [r.uid, r.gid]) {
        assert.ok(
          Number.isInteger(id) && id >= 0 && id <= 2 ** 32 - 2,
          `case ${i}: ${JSON.stringify(user)} resolved to ${JSON.stringify(r)}`,
        );
        assert.ok(
          !SENTINEL_IDS.has(id) || user.includes(String(id)),
          `case ${i}: ${JSON.stringify(user)} resolved to ${JSON.stringify(r)}, read from outside the rootfs`,
        );
      }
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  for (const code of codes.keys())
    assert.ok(['RUNTIME_USER_TABLE_UNSAFE', 'RUNTIME_USER_UNKNOWN'].includes(code), code);
  assert.ok(
    resolved > 0 && codes.get('RUNTIME_USER_TABLE_UNSAFE')! > 0,
    `the layouts exercise both outcomes: ${resolved} resolved, ${JSON.stringify([...codes])}`,
  );
  if (process.env.CLOAK_FUZZ_REPORT)
    console.log(
      `fuzz: ${FUZZ_ITERATIONS} layouts, ${resolved} resolved, refused: ${JSON.stringify(Object.fromEntries(codes))}`,
    );
});
