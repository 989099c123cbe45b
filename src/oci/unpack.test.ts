import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  lstatSync,
  readFileSync,
  readlinkSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isCloakError } from '../lib/index.ts';
import { unpackLayers, applyLayer } from './unpack.ts';
import { fixChecksum, tarOf, type TarEntry } from './testing/tar.ts';
import { seededRandom } from '../lib/testing/mutator.ts';

type Entry = TarEntry;

/** A private directory holding the rootfs and, beside it, a sentinel that an escape would remove or overwrite. */
function sandbox() {
  const base = mkdtempSync(join(tmpdir(), 'cloak-unpack-'));
  writeFileSync(join(base, 'sentinel'), 'untouched');
  const outside = () => {
    assert.equal(readFileSync(join(base, 'sentinel'), 'utf8'), 'untouched', 'the sentinel beside the rootfs is intact');
    return readdirSync(base).filter((n) => n !== 'rootfs' && n !== 'sentinel');
  };
  return { base, rootfs: join(base, 'rootfs'), outside, remove: () => rmSync(base, { recursive: true, force: true }) };
}

test('unpacks files, dirs, symlinks, hard links; applies whiteouts and opaque dirs across layers', async () => {
  const s = sandbox();
  try {
    const l1 = await tarOf([
      { name: 'bin/', type: 'directory' },
      { name: 'bin/busybox', body: 'BB', mode: 0o755 },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'bin/ls', type: 'link', linkname: 'bin/busybox' },
      { name: 'etc/gone', body: 'x' },
      { name: 'opq/old', body: 'old' },
      { name: 'usr/lib/x', body: 'x' },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
    ]);
    const l2 = await tarOf([
      { name: 'etc/.wh.gone' },
      { name: 'opq/new', body: 'new' },
      { name: 'opq/.wh..wh..opq' },
      { name: 'lib/y', body: 'through merged-usr symlink' },
      { name: 'suid', body: 's', mode: 0o4755 },
      { name: 'dev/null', type: 'character-device' },
      { name: 'etc/.wh..wh.orph' }, // AUFS metadata: never applied
      { name: 'etc/.wh....' }, // whites out "...", a plain name
    ]);
    const stats = await unpackLayers([() => Readable.from(l1), () => Readable.from(l2)], s.rootfs);
    const r = s.rootfs;
    assert.equal(readFileSync(join(r, 'bin/busybox'), 'utf8'), 'BB');
    assert.equal(readlinkSync(join(r, 'bin/sh')), '/bin/busybox');
    assert.equal(statSync(join(r, 'bin/ls')).ino, statSync(join(r, 'bin/busybox')).ino);
    assert.equal(existsSync(join(r, 'etc/gone')), false);
    assert.deepEqual(readdirSync(join(r, 'opq')), ['new']);
    assert.equal(readFileSync(join(r, 'usr/lib/y'), 'utf8'), 'through merged-usr symlink');
    assert.equal(lstatSync(join(r, 'suid')).mode & 0o7777, 0o755);
    assert.equal(existsSync(join(r, 'dev/null')), false);
    assert.deepEqual(readdirSync(join(r, 'etc')), []);
    assert.equal(stats.skippedDevices, 1);
    assert.equal(stats.strippedSetuid, 1);
    assert.deepEqual(s.outside(), []);
  } finally {
    s.remove();
  }
});

test('escapes and bombs are refused, nothing is written outside, and the rootfs is removed', async () => {
  const cases: Array<[string, Entry[], string]> = [
    ['dot-dot path', [{ name: '../evil', body: 'x' }], 'OCI_LAYER_PATH_ESCAPE'],
    ['nested dot-dot', [{ name: 'a/../../evil', body: 'x' }], 'OCI_LAYER_PATH_ESCAPE'],
    ['absolute path', [{ name: '/evil', body: 'x' }], 'OCI_LAYER_PATH_ESCAPE'],
    [
      'symlink then file through it',
      [
        { name: 'esc', type: 'symlink', linkname: '../../..' },
        { name: 'esc/evil', body: 'x' },
      ],
      'OCI_LAYER_PATH_ESCAPE',
    ],
    [
      'relative symlink climbing out',
      [
        { name: 'd/', type: 'directory' },
        { name: 'd/up', type: 'symlink', linkname: '../..' },
        { name: 'd/up/evil', body: 'x' },
      ],
      'OCI_LAYER_PATH_ESCAPE',
    ],
    ['hard link outside', [{ name: 'h', type: 'link', linkname: '../outside-file' }], 'OCI_LAYER_PATH_ESCAPE'],
    ['hard link to nothing', [{ name: 'h', type: 'link', linkname: 'nope' }], 'OCI_LAYER_LINK_INVALID'],
    // Issue #13: ".wh..." whited out "..", the directory above the rootfs.
    ['whiteout of the parent (.wh...)', [{ name: '.wh...' }], 'OCI_LAYER_WHITEOUT_INVALID'],
    ['whiteout of the root itself (.wh..)', [{ name: '.wh..' }], 'OCI_LAYER_WHITEOUT_INVALID'],
    ['whiteout naming nothing (.wh.)', [{ name: './.wh.' }], 'OCI_LAYER_WHITEOUT_INVALID'],
    [
      'nested whiteout of its own directory',
      [{ name: 'a/b/', type: 'directory' }, { name: 'a/b/.wh..' }],
      'OCI_LAYER_WHITEOUT_INVALID',
    ],
    [
      'nested whiteout of the parent',
      [{ name: 'a/', type: 'directory' }, { name: 'a/.wh...' }],
      'OCI_LAYER_WHITEOUT_INVALID',
    ],
    [
      'whiteout under a symlink to the parent',
      [{ name: 'up', type: 'symlink', linkname: '..' }, { name: 'up/.wh.sentinel' }],
      'OCI_LAYER_PATH_ESCAPE',
    ],
    [
      'whiteout under an absolute symlink out',
      [{ name: 'up', type: 'symlink', linkname: '/../..' }, { name: 'up/.wh.sentinel' }],
      'OCI_LAYER_PATH_ESCAPE',
    ],
    [
      'opaque whiteout under a symlink to the parent',
      [{ name: 'up', type: 'symlink', linkname: '../rootfs/..' }, { name: 'up/.wh..wh..opq' }],
      'OCI_LAYER_PATH_ESCAPE',
    ],
    [
      'hard link through a symlinked parent',
      [
        { name: 'up', type: 'symlink', linkname: '..' },
        { name: 'h', type: 'link', linkname: 'up/sentinel' },
      ],
      'OCI_LAYER_PATH_ESCAPE',
    ],
    [
      'file over a symlink to the outside',
      [
        { name: 'up', type: 'symlink', linkname: '..' },
        { name: 'up/sentinel', body: 'overwritten' },
      ],
      'OCI_LAYER_PATH_ESCAPE',
    ],
    ['dot-dot only', [{ name: '..', type: 'directory' }], 'OCI_LAYER_PATH_ESCAPE'],
  ];
  for (const [name, entries, code] of cases) {
    const s = sandbox();
    try {
      await assert.rejects(
        unpackLayers([async () => Readable.from(await tarOf(entries))], s.rootfs),
        (e) => isCloakError(e, code),
        name,
      );
      assert.deepEqual(s.outside(), [], `${name}: nothing outside`);
      assert.equal(existsSync(s.rootfs), false, `${name}: rootfs removed`);
    } finally {
      s.remove();
    }
  }
});

test('a layer cut off inside an entry the unpacker does not read (a symlink claiming a body) fails typed, with no uncaught error after it', async () => {
  const s = sandbox();
  try {
    const t = await tarOf([{ name: 'l', body: Buffer.alloc(200_000) }]);
    t.write('2', 156, 'latin1'); // typeflag: symlink
    t.write('target', 157, 'latin1');
    fixChecksum(t.subarray(0, 512));
    const uncaught: unknown[] = [];
    const record = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', record);
    try {
      await assert.rejects(unpackLayers([() => Readable.from([t.subarray(0, 100_000)])], s.rootfs), (e) =>
        isCloakError(e, 'OCI_LAYER_CORRUPT'),
      );
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off('uncaughtException', record);
    }
    assert.deepEqual(uncaught, [], 'the extractor destroying the entry raised nothing uncaught');
    assert.deepEqual(s.outside(), []);
  } finally {
    s.remove();
  }
});

test('tar bomb limits and corrupt streams', async () => {
  const s = sandbox();
  try {
    const many = await tarOf(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, body: 'x'.repeat(100) })));
    await assert.rejects(
      unpackLayers([() => Readable.from(many)], s.rootfs, { limits: { maxEntries: 10, maxBytes: 1e9 } }),
      (e) => isCloakError(e, 'OCI_LAYER_TOO_LARGE'),
    );
    await assert.rejects(
      unpackLayers([() => Readable.from(many)], s.rootfs, { limits: { maxEntries: 100, maxBytes: 1000 } }),
      (e) => isCloakError(e, 'OCI_LAYER_TOO_LARGE'),
    );
    const corrupt = Buffer.from(many);
    corrupt.fill(0x41, 100, 200); // smash the first header's checksum region
    await assert.rejects(unpackLayers([() => Readable.from(corrupt)], s.rootfs), (e) => isCloakError(e));
  } finally {
    s.remove();
  }
});

test('fuzz: random byte flips in a layer only ever raise CloakError or unpack inside the root', async () => {
  const good = await tarOf([
    { name: 'a/b', body: 'hello' },
    { name: 'l', type: 'symlink', linkname: 'a' },
    { name: 'h', type: 'link', linkname: 'a/b' },
  ]);
  const rand = seededRandom(7);
  for (let i = 0; i < 300; i++) {
    const s = sandbox();
    try {
      const b = Buffer.from(good.subarray(0, rand(good.length) + 1));
      for (let k = 0; k < 4; k++) b[rand(b.length)] = rand(256);
      mkdirSync(s.rootfs);
      try {
        await applyLayer(Readable.from(b), s.rootfs);
      } catch (e) {
        assert.ok(isCloakError(e), String(e));
      }
      assert.deepEqual(s.outside(), []);
    } finally {
      s.remove();
    }
  }
});

test(
  "mapIds: every entry is created with its mapped owner; the root and implied directories get mapped 0, a hard link keeps its source's owner",
  { skip: process.getuid?.() === 0 ? false : 'needs root (chown)' },
  async () => {
    const s = sandbox();
    try {
      const l1 = await tarOf([
        { name: 'etc/', type: 'directory', uid: 70000, gid: 70000 },
        { name: 'etc/app', body: 'x', uid: 1000, gid: 50 },
        { name: 'shadow', type: 'symlink', linkname: '/etc/shadow', uid: 1000, gid: 50 },
        { name: 'var/lib/data', body: 'y', uid: 5, gid: 6 },
      ]);
      const l2 = await tarOf([{ name: 'etc/app-link', type: 'link', linkname: 'etc/app' }]);
      const map = (id: number) => 1_000_000 + (id < 65536 ? id : 65534);
      await unpackLayers([() => Readable.from(l1), () => Readable.from(l2)], s.rootfs, { mapIds: map });
      const own = (p: string) => {
        const st = lstatSync(join(s.rootfs, p));
        return [st.uid - 1_000_000, st.gid - 1_000_000];
      };
      assert.deepEqual(own('.'), [0, 0], 'the root');
      assert.deepEqual(own('var'), [0, 0], 'a directory the layer only implies');
      assert.deepEqual(own('var/lib'), [0, 0]);
      assert.deepEqual(own('var/lib/data'), [5, 6]);
      assert.deepEqual(own('etc/app'), [1000, 50]);
      assert.deepEqual(own('etc/app-link'), [1000, 50], "a hard link in a later layer: the source's owner");
      assert.deepEqual(own('shadow'), [1000, 50], 'the symlink itself, not its target');
      assert.deepEqual(own('etc'), [65534, 65534], 'what the mapping sends to nobody');
      assert.equal(lstatSync('/etc/shadow').uid, 0);
    } finally {
      s.remove();
    }
  },
);
