/**
 * Issue #13, findings 1 and 9, reproduced the way the attack was made: hostile
 * docker-archive tars and OCI layouts built here, opened by the real CLI
 * (`cloak image inspect`, `cloak convert`, `cloak run`) with a private
 * TMPDIR whose sentinels (and the sentinels beside it) must survive.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OciLayout, buildImage, type ImageConfig } from '../../src/oci/index.ts';
import { tarOf, type TarEntry } from '../../src/oci/testing/tar.ts';
import { startSimCloak, allowSim, runCloak, tempDir, type CloakServer } from './harness.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';

const canRun = process.getuid?.() === 0 && spawnSync('runc', ['--version']).status === 0 && existsSync('/bin/busybox');
const skipRun = canRun ? false : 'needs root, runc and busybox-static';
const MiB = 1024 ** 2;

let dir: ReturnType<typeof tempDir>;
let server: CloakServer | undefined;
let pub: string;

before(async () => {
  dir = tempDir('cloak-hostile-');
  writeFileSync(
    (pub = join(dir.path, 'pub.pem')),
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
  );
  if (skipRun) return;
  server = await startSimCloak(dir.path);
  await allowSim(server);
});
after(async () => {
  await server?.stop();
  dir?.remove();
});

/**
 * The CLI's private TMPDIR, with sentinels inside it and beside it; one for
 * the whole file, so tsx's compile cache in it (tsx-UID, not Cloak's) warms
 * once. `check()` asserts that every sentinel is intact and that the run
 * left nothing else behind.
 */
function sandbox() {
  const base = join(dir.path, 'box');
  const tmp = join(base, 'tmp');
  if (!existsSync(base)) {
    mkdirSync(join(tmp, 'sentinel-dir'), { recursive: true });
    writeFileSync(join(tmp, 'sentinel-dir', 'file'), 'inside TMPDIR');
    writeFileSync(join(tmp, 'sentinel-file'), 'inside TMPDIR');
    writeFileSync(join(base, 'sentinel-beside'), 'beside TMPDIR');
  }
  const list = () =>
    readdirSync(base, { recursive: true })
      .map(String)
      .filter((n) => !/^tmp\/tsx-\d+(\/|$)/.test(n))
      .sort();
  const before = list();
  return {
    env: { TMPDIR: tmp },
    check(what: string) {
      assert.ok(lstatSync(tmp).isDirectory(), `${what}: TMPDIR still exists`);
      assert.equal(readFileSync(join(tmp, 'sentinel-dir', 'file'), 'utf8'), 'inside TMPDIR', what);
      assert.equal(readFileSync(join(tmp, 'sentinel-file'), 'utf8'), 'inside TMPDIR', what);
      assert.equal(readFileSync(join(base, 'sentinel-beside'), 'utf8'), 'beside TMPDIR', what);
      assert.deepEqual(list(), before, `${what}: nothing left behind or removed`);
    },
  };
}

const HOSTILE_WHITEOUTS: Array<[string, TarEntry[]]> = [
  ['.wh... (whites out "..")', [{ name: '.wh...' }]],
  ['.wh.. (whites out the root)', [{ name: '.wh..' }]],
  [
    'opaque whiteout under a symlink to ..',
    [{ name: 'up', type: 'symlink', linkname: '..' }, { name: 'up/.wh..wh..opq' }],
  ],
]; // more forms in src/oci/unpack.test.ts and the fuzzer

test('finding 1: a docker-archive holding only a hostile whiteout is refused by image inspect, and TMPDIR survives', async () => {
  for (const [i, [name, entries]] of HOSTILE_WHITEOUTS.entries()) {
    const archive = join(dir.path, `whiteout-${i}.tar`);
    writeFileSync(archive, await tarOf(entries));
    const s = sandbox();
    const r = await runCloak(['image', 'inspect', `docker-archive:${archive}`], { env: s.env });
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /error OCI_LAYER_(WHITEOUT_INVALID|PATH_ESCAPE): /, name);
    s.check(name);
  }
});

test('finding 1: the same archive through cloak convert and cloak run: refused, TMPDIR survives', async () => {
  const archive = join(dir.path, 'dotdot.tar');
  writeFileSync(archive, await tarOf([{ name: '.wh...' }]));
  const convert = sandbox();
  const c = await runCloak(
    ['convert', `docker-archive:${archive}`, `oci:${join(dir.path, 'convert-out')}:v1`, '--recipient', `jwe:${pub}`],
    { env: convert.env },
  );
  assert.equal(c.code, 1, c.stderr);
  assert.match(c.stderr, /error OCI_LAYER_WHITEOUT_INVALID: whiteout "\.wh\.\.\." names no file inside its directory/);
  convert.check('convert');
  const run = sandbox();
  const r = await runCloak(['run', `docker-archive:${archive}`, '--server', 'http://127.0.0.1:9'], { env: run.env });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /error OCI_LAYER_WHITEOUT_INVALID/);
  run.check('run');
});

/** An OCI layout of busybox plus `extra` layers; `config` may alter the image config. */
async function layout(name: string, extra: Buffer[], config?: (c: ImageConfig) => void): Promise<string> {
  const path = join(dir.path, name);
  const l = OciLayout.create(path);
  await buildImage(l, 'v1', [await busyboxLayerTar(), ...extra], { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo ran'] });
  if (config) {
    const { manifest, config: c } = l.resolve('v1');
    config(c);
    l.tag('v1', { ...manifest, config: l.writeJson(manifest.config.mediaType, c) });
  }
  return path;
}

const run = (image: string, s: ReturnType<typeof sandbox>, args: string[] = [], env: Record<string, string> = {}) =>
  runCloak(['run', `oci:${image}:v1`, '--sim-dir', join(dir.path, 'sim'), '--server', server!.url, ...args], {
    env: { ...s.env, ...env },
  });

test(
  'finding 1 under cloak run: an OCI layer whiting out ".." (the run directory) is refused after attestation; nothing runs or stays',
  { skip: skipRun },
  async () => {
    const image = await layout('whiteout-layer', [await tarOf([{ name: 'etc/app', body: 'x' }, { name: '.wh...' }])]);
    const s = sandbox();
    const r = await run(image, s);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error OCI_LAYER_WHITEOUT_INVALID/);
    assert.doesNotMatch(r.stdout, /ran/);
    s.check('run');
  },
);

test(
  'finding 9: a small gzip layer inflating past --max-layer-size (or CLOAK_MAX_LAYER_SIZE) is refused by cloak run, even encrypted by cloak convert',
  { skip: skipRun },
  async () => {
    const image = await layout('bomb', [await tarOf([{ name: 'zeros', body: Buffer.alloc(32 * MiB) }])]);
    const bombLayer = OciLayout.open(image).resolve('v1').manifest.layers[1]!;
    assert.ok(bombLayer.size < 100_000, `${bombLayer.size} bytes of gzip`);
    const s = sandbox();
    for (const [args, env] of [
      [['--max-layer-size', '8MiB'], {}],
      [[], { CLOAK_MAX_LAYER_SIZE: '8MiB' }],
    ] as const) {
      const r = await run(image, s, [...args], env);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /error OCI_LAYER_TOO_LARGE: layer 1 \(sha256:[0-9a-f]{64}\) expands beyond 8388608 bytes/);
      assert.doesNotMatch(r.stdout, /ran/);
      s.check('bomb');
    }
    const conv = await runCloak([
      'convert',
      `oci:${image}:v1`,
      `oci:${join(dir.path, 'bomb-enc')}:v1`,
      '--server',
      server!.url,
      '--token',
      server!.token,
    ]);
    assert.equal(conv.code, 0, conv.stderr);
    const r = await runCloak(
      [
        'run',
        `oci:${join(dir.path, 'bomb-enc')}:v1`,
        '--sim-dir',
        join(dir.path, 'sim'),
        '--server',
        server!.url,
        '--max-layer-size',
        '8MiB',
      ],
      { env: s.env },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error OCI_LAYER_TOO_LARGE/);
    s.check('encrypted bomb');
    const bad = await run(image, s, ['--max-layer-size', 'lots']);
    assert.equal(bad.code, 2, 'a bad limit is a usage error');
    assert.match(bad.stderr, /USAGE_LAYER_LIMIT/);
    // Within the limits it runs.
    const ok = await run(image, s, ['--max-layer-size', '64MiB']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'ran\n');
  },
);

test(
  'finding 9: a bogus diff_id in the image config is refused by cloak run, and nothing of the layer stays',
  { skip: skipRun },
  async () => {
    const image = await layout('bogus-diff-id', [await tarOf([{ name: 'etc/app', body: 'x' }])], (c) => {
      c.rootfs!.diff_ids[1] = 'sha256:' + 'd'.repeat(64);
    });
    const s = sandbox();
    const r = await run(image, s);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /error OCI_DIFF_ID_MISMATCH: layer 1 \(sha256:[0-9a-f]{64}\) unpacks to sha256:[0-9a-f]{64}, but the image config's diff_id is sha256:d{64}/,
    );
    assert.doesNotMatch(r.stdout, /ran/);
    s.check('diff id');
  },
);
