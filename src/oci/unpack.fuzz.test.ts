/**
 * Fuzzes layer unpacking (issue #13): hostile tar entries — names with "..",
 * "." and ".wh." forms, absolute paths, NULs, long names, symlinks and hard
 * links pointing out, symlinked parents, opaque whiteouts, devices — some in
 * tars whose header blocks are then mutated (checksums fixed up so the
 * mutation reaches the unpacker). Each case unpacks two layers into a root
 * inside a sandbox; afterwards the sandbox outside the root must be exactly
 * as before (no write, no delete), every failure must be a CloakError, and
 * nothing may surface later as an uncaught error.
 * CLOAK_FUZZ_ITERATIONS sets the number of cases (the seeded default keeps
 * `npm test` short); the entry count is printed as a diagnostic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isCloakError } from '../lib/index.ts';
import { unpackLayers } from './unpack.ts';
import { fixChecksum, tarOf, type TarEntry } from './testing/tar.ts';
import { FUZZ_ITERATIONS, mutator } from '../lib/testing/mutator.ts';

const CASES = Number(process.env.CLOAK_FUZZ_ITERATIONS ?? Math.ceil(FUZZ_ITERATIONS / 8));

/** Everything under `dir` except `skip`: type, mode, owner, size, mtime, link target and content, so any write or delete shows. */
function snapshot(dir: string, skip: string): string[] {
  const out: string[] = [];
  for (const rel of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const p = join(dir, rel);
    if (p === skip || p.startsWith(skip + '/')) continue;
    const st = lstatSync(p);
    const what = st.isSymbolicLink()
      ? `-> ${readlinkSync(p)}`
      : st.isFile()
        ? readFileSync(p, 'hex')
        : st.isDirectory()
          ? 'dir'
          : 'other';
    // A directory's size and mtime are not compared (the root's parent changes as the root comes and goes): its entries are.
    out.push(
      `${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? '' : `${st.size} ${st.mtimeMs}`} ${what}`,
    );
  }
  return out;
}

/** Offsets of the header blocks of a tar written by tar-stream (octal sizes). */
function headerOffsets(t: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + 512 <= t.length;) {
    const block = t.subarray(off, off + 512);
    if (block.every((b) => b === 0)) break;
    out.push(off);
    const size = parseInt(block.toString('latin1', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
    off += 512 + Math.ceil((Number.isFinite(size) ? size : 0) / 512) * 512;
  }
  return out;
}

test(`fuzz: hostile and mutated layer entries never write or delete outside the root, and fail only with CloakError (seeded, ${CASES} cases)`, async (t) => {
  const base = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'cloak-unpack-fuzz-')); // memory-backed: the cases are I/O-bound
  const parent = join(base, 'parent');
  const root = join(parent, 'root');
  mkdirSync(join(base, 'sdir'), { recursive: true });
  mkdirSync(parent);
  writeFileSync(join(base, 'sentinel'), 'beside the parent');
  writeFileSync(join(base, 'sdir', 'file'), 'in a sibling directory');
  writeFileSync(join(parent, 'sentinel2'), 'beside the root');
  symlinkSync(join(base, 'sdir'), join(parent, 'outlink'));
  const before = snapshot(base, root);

  const { rand, mutate } = mutator(20260713);
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  // Mostly plain names (so layers build structure: directories, symlinked parents, files to link and white out), some hostile ones.
  const PLAIN = [
    'a',
    'b',
    'etc',
    'up',
    'abs',
    'l',
    'sentinel2',
    'outlink',
    '.wh.a',
    '.wh.b',
    '.wh.up',
    '.wh.l',
    '.wh.sentinel2',
    '.wh.outlink',
    '.wh..wh..opq',
    '.',
  ];
  const HOSTILE = [
    '..',
    '',
    '...',
    '.wh.',
    '.wh..',
    '.wh...',
    '.wh.',
    '.wh..',
    '.wh...',
    '.wh....',
    '.wh..wh.plnk',
    '.wh..wh.',
    'x'.repeat(255),
    'y'.repeat(256),
    'n\0ul',
    'sp ace',
    'é',
    '\\',
    '.wh.\0',
    '.wh./',
  ];
  const TARGETS = [
    '..',
    '../..',
    '../../..',
    '/',
    '/..',
    '/../..',
    'a',
    'a/b',
    'b',
    'etc',
    'up',
    'up/..',
    'up/a',
    '../sentinel2',
    '../../sentinel',
    '../outlink',
    '../root/..',
    base,
    join(base, 'sentinel'),
    join(parent, 'sentinel2'),
    parent,
    root,
    '',
    'n\0ul',
    'z'.repeat(5000),
    '.',
    './',
    '/etc',
    'abs/..',
    'l/../..',
    'a/../../sentinel2',
  ];
  const INSIDE = ['a', 'b', 'a/b', 'etc', 'up/a', '/a', '/etc', '../a', 'l', './b', 'sentinel2', '/'];
  const TYPES: Array<TarEntry['type']> = [
    'file',
    'file',
    'file',
    'directory',
    'directory',
    'symlink',
    'symlink',
    'symlink',
    'link',
    'link',
    'character-device',
    'block-device',
    'fifo',
  ];
  const name = (): string => {
    if (rand(100) === 0) return 'w/'.repeat(2100); // over the 4096-character name limit
    const parts = Array.from({ length: 1 + rand(3) }, () => pick(rand(10) === 0 ? HOSTILE : PLAIN));
    return (
      (rand(30) === 0 ? pick(['/', '../', '//', '/./']) : pick(['', './'])) + parts.join('/') + pick(['', '', '/'])
    );
  };
  const entry = (): TarEntry => {
    const type = pick(TYPES);
    return {
      name: name(),
      type,
      linkname: type === 'symlink' || type === 'link' ? pick(rand(3) === 0 ? TARGETS : INSIDE) : undefined,
      body: type === 'file' ? 'x'.repeat(rand(3) * 300) : undefined,
      mode: pick([0o644, 0o755, 0o4755, 0o2755, 0o000, 0o7777, 0o1777]),
      uid: pick([0, 1000, 65534]),
      gid: pick([0, 1000]),
    };
  };
  const layer = async (): Promise<{ bytes: Buffer; entries: number }> => {
    const entries: TarEntry[] = [];
    for (let n = 1 + rand(8); entries.length < n;) {
      const e = entry();
      try {
        await tarOf([e]);
        entries.push(e);
      } catch {
        n--;
      } // tar-stream refuses to write some of these at all
    }
    let bytes = await tarOf(entries);
    if (rand(5) === 0) {
      const headers = headerOffsets(bytes);
      const at = rand(2) === 0 && headers.length ? pick(headers) : rand(Math.floor(bytes.length / 512)) * 512;
      const block = Buffer.alloc(512);
      mutate(bytes.subarray(at, at + 512)).copy(block);
      if (headers.includes(at)) fixChecksum(block);
      bytes = Buffer.concat([bytes.subarray(0, at), block, bytes.subarray(at + 512)]);
    } else if (rand(16) === 0) {
      bytes = mutate(bytes);
    }
    return { bytes, entries: entries.length };
  };

  let entries = 0;
  let refused = 0;
  const codes = new Map<string, number>();
  const uncaught: unknown[] = []; // e.g. an entry stream destroyed with an error nobody listens for
  const record = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', record);
  try {
    for (let i = 0; i < CASES; i++) {
      const layers = [await layer(), await layer()];
      entries += layers[0]!.entries + layers[1]!.entries;
      try {
        await unpackLayers(
          layers.map((l) => () => Readable.from([l.bytes])),
          root,
        );
        assert.ok(lstatSync(root).isDirectory(), `case ${i}: the root itself was removed`);
      } catch (e) {
        assert.ok(isCloakError(e), `case ${i}: untyped ${String((e as Error)?.stack ?? e)}`);
        refused++;
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
      rmSync(root, { recursive: true, force: true });
      assert.deepEqual(snapshot(base, root), before, `case ${i}: something outside the root changed`);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(uncaught, [], `case ${i}: an uncaught error`);
    }
  } finally {
    process.off('uncaughtException', record);
    rmSync(base, { recursive: true, force: true });
  }
  t.diagnostic(
    `${CASES} cases, ${entries} entries, ${refused} refused: ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`,
  );
});
