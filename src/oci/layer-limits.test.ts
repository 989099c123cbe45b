import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isCloakError } from '../lib/index.ts';
import { DEFAULT_LAYER_LIMITS, ExpansionBudget, RATIO_FLOOR, layerLimitsFrom, parseByteSize } from './layer-limits.ts';
import { OciLayout } from './layout.ts';
import { buildImage } from './build.ts';
import { openLayerTar } from './crypt-image.ts';
import { unpackLayers } from './unpack.ts';
import { tarOf } from './testing/tar.ts';

const MiB = 1024 ** 2;

/** An uncompressed layer tar holding one file of `size` zero bytes (gzip shrinks it about 1000×). */
const zerosTar = (size: number) => tarOf([{ name: 'zeros', body: Buffer.alloc(size) }]);

test('the default limits: 16 GiB per layer, 100× past 64 MiB; flags win over CLOAK_MAX_LAYER_* variables', () => {
  assert.deepEqual(DEFAULT_LAYER_LIMITS, { maxSize: 16 * 1024 ** 3, maxRatio: 100 });
  assert.equal(RATIO_FLOOR, 64 * MiB);
  assert.deepEqual(layerLimitsFrom({}, {}), DEFAULT_LAYER_LIMITS);
  assert.deepEqual(layerLimitsFrom({}, { CLOAK_MAX_LAYER_SIZE: '1GiB', CLOAK_MAX_LAYER_RATIO: '0' }), {
    maxSize: 1024 ** 3,
    maxRatio: 0,
  });
  assert.deepEqual(layerLimitsFrom({ maxLayerSize: '512M', maxLayerRatio: '20' }, { CLOAK_MAX_LAYER_SIZE: '1GiB' }), {
    maxSize: 512e6,
    maxRatio: 20,
  });
  for (const [text, n] of [
    ['1048576', MiB],
    ['64KiB', 65536],
    ['2 GiB', 2 * 1024 ** 3],
    ['10G', 1e10],
    ['1.5Mi', 1.5 * MiB],
    ['3kb', 3000],
  ] as const)
    assert.equal(parseByteSize(text, 'x'), n, text);
  for (const bad of ['', '0', '-1', 'lots', '5 parsecs', '1e400', '9'.repeat(30)])
    assert.throws(
      () => parseByteSize(bad, '--max-layer-size'),
      (e) => isCloakError(e, 'USAGE_LAYER_LIMIT'),
      bad,
    );
  assert.throws(
    () => layerLimitsFrom({}, { CLOAK_MAX_LAYER_RATIO: 'high' }),
    (e) => isCloakError(e, 'USAGE_LAYER_LIMIT') && /CLOAK_MAX_LAYER_RATIO/.test((e as Error).message),
  );
});

test('ExpansionBudget: the size limit always, the ratio only past the floor, 0 turns the ratio off', () => {
  const b = new ExpansionBudget(1000, { maxSize: 10 * RATIO_FLOOR, maxRatio: 100 }, 'layer x');
  b.add(RATIO_FLOOR); // 64 MiB out of 1000 bytes: far past 100×, but under the floor
  assert.throws(
    () => b.add(1),
    (e) =>
      isCloakError(e, 'OCI_LAYER_TOO_LARGE') &&
      /layer x expands beyond 100× its 1000 compressed bytes/.test((e as Error).message),
  );
  // The bomb, 2 MB of gzip inflating to 2 GiB, under the defaults: refused at 200 MB.
  const bomb = new ExpansionBudget(2e6, DEFAULT_LAYER_LIMITS, 'layer z');
  let inflated = 0;
  assert.throws(
    () => {
      for (; inflated < 2 * 1024 ** 3; inflated += MiB) bomb.add(MiB);
    },
    (e) => isCloakError(e, 'OCI_LAYER_TOO_LARGE'),
  );
  assert.ok(inflated <= 200e6, `${inflated} bytes inflated before the refusal`);
  const off = new ExpansionBudget(1000, { maxSize: 2 * RATIO_FLOOR, maxRatio: 0 }, 'layer y');
  off.add(2 * RATIO_FLOOR);
  assert.throws(
    () => off.add(1),
    (e) => isCloakError(e, 'OCI_LAYER_TOO_LARGE') && /--max-layer-size/.test((e as Error).message),
  );
});

test('a small gzip layer that inflates past the limits is refused while it streams, and the rootfs is removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-bomb-'));
  try {
    const layout = OciLayout.create(join(dir, 'img'));
    await buildImage(layout, 'v1', [await zerosTar(16 * MiB)], {});
    const { manifest, config } = layout.resolve('v1');
    const layer = manifest.layers[0]!;
    assert.ok(layer.size < 50_000, `the bomb is small (${layer.size} bytes of gzip)`);
    const check = { diffIds: config.rootfs!.diff_ids, index: 0 };
    const unpack = (limits: typeof DEFAULT_LAYER_LIMITS) =>
      unpackLayers([() => openLayerTar(layout, layer, {}, { ...check, limits })], join(dir, 'rootfs'));
    for (const limits of [
      { maxSize: MiB, maxRatio: 0 },
      { maxSize: MiB, maxRatio: 100 },
    ]) {
      await assert.rejects(
        unpack(limits),
        (e) =>
          isCloakError(e, 'OCI_LAYER_TOO_LARGE') &&
          /expands beyond 1048576 bytes \(--max-layer-size or CLOAK_MAX_LAYER_SIZE raises it\)/.test(
            (e as Error).message,
          ),
      );
      assert.equal(existsSync(join(dir, 'rootfs')), false);
    }
    // Raised limits let the same (trusted) layer through.
    await unpack({ maxSize: 32 * MiB, maxRatio: 0 });
    assert.ok(existsSync(join(dir, 'rootfs', 'zeros')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a layer whose content is not its diff_id is refused and nothing of it stays (gzip and plain tar layers)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-diffid-'));
  try {
    const layout = OciLayout.create(join(dir, 'img'));
    const tarBytes = await zerosTar(4096);
    await buildImage(layout, 'v1', [tarBytes], {});
    const { manifest } = layout.resolve('v1');
    const bogus = { diffIds: ['sha256:' + 'b'.repeat(64)], index: 0 };
    const gz = manifest.layers[0]!;
    await assert.rejects(
      unpackLayers([() => openLayerTar(layout, gz, {}, bogus)], join(dir, 'rootfs')),
      (e) => isCloakError(e, 'OCI_DIFF_ID_MISMATCH') && /diff_id is sha256:b{64}/.test((e as Error).message),
    );
    assert.equal(existsSync(join(dir, 'rootfs')), false);
    // An uncompressed layer is its own tar: its digest must be the diff_id, refused before anything is read.
    const plain = {
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      ...(await layout.writeBlob(Readable.from([tarBytes]))),
    };
    assert.ok(
      Buffer.concat(
        await (await openLayerTar(layout, plain, {}, { diffIds: [plain.digest], index: 0 })).toArray(),
      ).equals(tarBytes),
    );
    await assert.rejects(openLayerTar(layout, plain, {}, bogus), (e) => isCloakError(e, 'OCI_DIFF_ID_MISMATCH'));
    await assert.rejects(openLayerTar(layout, gz, {}, { diffIds: [], index: 0 }), (e) =>
      isCloakError(e, 'OCI_DIFF_ID_MISSING'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
