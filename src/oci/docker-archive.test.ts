import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCloakError } from '../lib/index.ts';
import { importDockerArchive } from './docker-archive.ts';
import { OciLayout } from './layout.ts';
import { tarOf, type TarEntry } from './testing/tar.ts';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

/** A `docker save`-style archive: config, a layer, a second layer that is a symlink to the first, manifest.json naming them. */
async function archive(manifest: unknown, extra: TarEntry[] = []): Promise<Buffer> {
  const layer = await tarOf([{ name: 'hello', body: 'hi' }]);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha(layer)}`, `sha256:${sha(layer)}`] },
  });
  return tarOf([
    { name: 'aaa/', type: 'directory' },
    { name: 'aaa/layer.tar', body: layer },
    { name: 'bbb/', type: 'directory' },
    { name: 'bbb/layer.tar', type: 'symlink', linkname: '../aaa/layer.tar' },
    { name: `${sha(config)}.json`, body: config },
    ...extra,
    {
      name: 'manifest.json',
      body: JSON.stringify(
        manifest ?? [
          { Config: `${sha(config)}.json`, RepoTags: ['app:v1'], Layers: ['aaa/layer.tar', 'bbb/layer.tar'] },
        ],
      ),
    },
  ]);
}

test('docker-archive: names from manifest.json must be regular files inside the archive; nothing is left in TMPDIR', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-archive-test-'));
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = join(dir, 'tmp'); // importDockerArchive unpacks under os.tmpdir()
  try {
    writeFileSync(join(dir, 'outside.tar'), 'not in the archive');
    mkdirSync(process.env.TMPDIR);
    const good = join(dir, 'good.tar');
    writeFileSync(good, await archive(undefined));
    const layout = OciLayout.create(join(dir, 'layout'));
    await importDockerArchive(good, 'app:v1', layout, 'v1');
    assert.equal(layout.resolve('v1').manifest.layers.length, 2);
    assert.deepEqual(readdirSync(process.env.TMPDIR), []);
    const hostile: Array<[string, unknown, TarEntry[]]> = [
      ['dot-dot layer', [{ Config: 'aaa/layer.tar', Layers: ['../outside.tar'] }], []],
      ['absolute layer', [{ Config: 'aaa/layer.tar', Layers: [join(dir, 'outside.tar')] }], []],
      ['NUL in a name', [{ Config: 'aaa/layer.tar', Layers: ['aaa/layer.tar\0x'] }], []],
      ['directory as a layer', [{ Config: 'aaa/layer.tar', Layers: ['aaa'] }], []],
      [
        'symlink out as a layer',
        [{ Config: 'aaa/layer.tar', Layers: ['out.tar'] }],
        [{ name: 'out.tar', type: 'symlink', linkname: join(dir, 'outside.tar') }],
      ],
      ['missing config', [{ Config: 'nope.json', Layers: [] }], []],
    ];
    for (const [name, manifest, extra] of hostile) {
      const file = join(dir, 'hostile.tar');
      writeFileSync(file, await archive(manifest, extra));
      await assert.rejects(
        importDockerArchive(file, undefined, OciLayout.create(join(dir, `out-${name}`)), 'v1'),
        (e) => isCloakError(e, 'OCI_ARCHIVE_INVALID'),
        name,
      );
      assert.deepEqual(readdirSync(process.env.TMPDIR), [], `${name}: the unpacked archive is removed`);
    }
    // The archive itself is unpacked with the layer checks: a whiteout of ".." is refused.
    writeFileSync(join(dir, 'wh.tar'), await tarOf([{ name: '.wh...' }]));
    await assert.rejects(importDockerArchive(join(dir, 'wh.tar'), undefined, layout, 'x'), (e) =>
      isCloakError(e, 'OCI_LAYER_WHITEOUT_INVALID'),
    );
    assert.deepEqual(readdirSync(process.env.TMPDIR), []);
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    rmSync(dir, { recursive: true, force: true });
  }
});
