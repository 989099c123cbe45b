import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isCloakError } from '../lib/index.ts';
import { OciLayout, type Descriptor } from './layout.ts';
import { LayerDecryptor, LayerEncryptor } from './ocicrypt.ts';

const MiB = 1 << 20;
const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const blobNames = (l: OciLayout) =>
  readdirSync(join(l.dir, 'blobs', 'sha256')).concat(readdirSync(join(l.dir, 'blobs')).filter((n) => n !== 'sha256'));

async function setup(size: number) {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-through-'));
  const src = OciLayout.create(join(dir, 'src'));
  const plain = randomBytes(size);
  const w = await src.writeBlob(Readable.from([plain]));
  const layer: Descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar', ...w };
  return { dir, src, plain, layer, enc: OciLayout.create(join(dir, 'enc')), dec: OciLayout.create(join(dir, 'dec')) };
}

test('writeBlobThrough encrypts and decrypts exactly, at sizes around its read and cipher slices', async () => {
  for (const size of [0, 1, 64 * 1024 - 1, 64 * 1024 + 1, MiB, MiB + 1, 3 * MiB + 5]) {
    const { dir, src, plain, layer, enc, dec } = await setup(size);
    try {
      const e = new LayerEncryptor(layer.digest);
      const ct = await enc.writeBlobThrough(src, layer, e);
      const { priv, pub } = await e.result;
      assert.equal(ct.size, size);
      assert.equal(ct.digest, sha(readFileSync(enc.blobPath(ct.digest))));
      assert.equal(priv.digest, layer.digest);
      const d = new LayerDecryptor(priv, pub);
      const pt = await dec.writeBlobThrough(enc, { ...layer, ...ct }, d, d.plainDigest);
      assert.equal(pt.digest, layer.digest, `size ${size}`);
      assert.deepEqual(readFileSync(dec.blobPath(pt.digest)), plain);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('writeBlobThrough leaves nothing behind when the source or the ciphertext is altered', async () => {
  const { dir, src, layer, enc, dec } = await setup(2 * MiB + 3);
  try {
    const e = new LayerEncryptor(layer.digest);
    const ct = await enc.writeBlobThrough(src, layer, e);
    const { priv, pub } = await e.result;

    // A source blob changed on disk (same size): its digest is checked before anything lands.
    const before = blobNames(dec);
    const altered = Buffer.from(readFileSync(src.blobPath(layer.digest)));
    altered[MiB + 7]! ^= 1;
    writeFileSync(src.blobPath(layer.digest), altered);
    await assert.rejects(dec.writeBlobThrough(src, layer, new LayerEncryptor(layer.digest)), (err) =>
      isCloakError(err, 'OCI_DIGEST_MISMATCH'),
    );
    assert.deepEqual(blobNames(dec), before);

    // A flipped ciphertext byte, with the descriptor naming the tampered blob: the HMAC refuses it.
    const bad = Buffer.from(readFileSync(enc.blobPath(ct.digest)));
    bad[12345]! ^= 0x80;
    const badBlob = await enc.writeBlob(Readable.from([bad]));
    const d = new LayerDecryptor(priv, pub);
    await assert.rejects(dec.writeBlobThrough(enc, { ...layer, ...badBlob }, d, d.plainDigest), (err) =>
      isCloakError(err, 'OCI_HMAC_MISMATCH'),
    );
    assert.deepEqual(blobNames(dec), before);

    // A truncated blob is missing as far as its descriptor goes.
    await assert.rejects(
      dec.writeBlobThrough(enc, { ...layer, digest: ct.digest, size: ct.size + 1 }, new LayerDecryptor(priv, pub)),
      (err) => isCloakError(err, 'OCI_BLOB_MISSING'),
    );
    assert.deepEqual(blobNames(dec), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decryptImage and openLayerTar of gzip layers: options naming the blob (Cloak) or the diff ID (skopeo) both come back exactly', async () => {
  const { buildImage } = await import('./build.ts');
  const { decryptImage, encryptImage, openLayerTar } = await import('./crypt-image.ts');
  const { gunzipSync } = await import('node:zlib');
  const { ANNOTATION_JWE, ANNOTATION_PUBOPTS, wrapJwe } = await import('./ocicrypt.ts');
  const { generateKeyPairSync } = await import('node:crypto');
  const dir = mkdtempSync(join(tmpdir(), 'cloak-gzip-'));
  try {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const plain = OciLayout.create(join(dir, 'plain'));
    await buildImage(plain, 'v1', [randomBytes(3 * MiB)], { Cmd: ['/x'] });
    const { manifest, config } = plain.resolve('v1');
    const layer = manifest.layers[0]!;

    // Cloak's way: the options name the gzip blob.
    const enc = OciLayout.create(join(dir, 'enc'));
    await encryptImage(plain, 'v1', enc, 'v1', { recipients: [publicKey] });
    const dec = OciLayout.create(join(dir, 'dec'));
    await decryptImage(enc, 'v1', dec, 'v1', { privateKey });
    assert.equal(dec.resolve('v1').manifest.layers[0]!.digest, layer.digest);

    // skopeo's way: the options name the uncompressed diff ID, checked by inflating.
    const e = new LayerEncryptor(config.rootfs!.diff_ids[0]!);
    const skopeoLike = OciLayout.create(join(dir, 'skopeo'));
    const ct = await skopeoLike.writeBlobThrough(plain, layer, e);
    const { priv, pub } = await e.result;
    const annotations = {
      [ANNOTATION_PUBOPTS]: Buffer.from(JSON.stringify(pub)).toString('base64'),
      [ANNOTATION_JWE]: await wrapJwe(priv, publicKey),
    };
    const cfg = skopeoLike.writeJson(manifest.config.mediaType, config);
    skopeoLike.tag('v1', {
      ...manifest,
      config: cfg,
      layers: [{ mediaType: layer.mediaType + '+encrypted', ...ct, annotations }],
    });
    const dec2 = OciLayout.create(join(dir, 'dec2'));
    await decryptImage(skopeoLike, 'v1', dec2, 'v1', { privateKey });
    assert.equal(dec2.resolve('v1').manifest.layers[0]!.digest, layer.digest);
    // That inflation is bounded like an unpack: past the limit, refused and nothing written.
    const dec3 = OciLayout.create(join(dir, 'dec3'));
    await assert.rejects(
      decryptImage(skopeoLike, 'v1', dec3, 'v1', { privateKey }, { maxSize: MiB, maxRatio: 0 }),
      (e) => isCloakError(e, 'OCI_LAYER_TOO_LARGE'),
    );
    assert.deepEqual(readdirSync(join(dec3.dir, 'blobs', 'sha256')), []);
    assert.deepEqual(readdirSync(join(dec3.dir, 'blobs')), ['sha256']);

    // What `cloak run` unpacks: the tar, checked against the config's diff ID as it streams.
    const tar = gunzipSync(readFileSync(join(plain.dir, 'blobs', 'sha256', layer.digest.slice(7))));
    const read = async (s: Promise<Readable>) => Buffer.concat(await (await s).toArray());
    const diffIds = config.rootfs!.diff_ids;
    for (const image of [plain, enc, skopeoLike]) {
      const imageLayer = image.resolve('v1').manifest.layers[0]!;
      assert.ok((await read(openLayerTar(image, imageLayer, { privateKey }, { diffIds, index: 0 }))).equals(tar));
      // Another diff ID: refused when the stream ends.
      await assert.rejects(
        read(openLayerTar(image, imageLayer, { privateKey }, { diffIds: ['sha256:' + '0'.repeat(64)], index: 0 })),
        (e) =>
          isCloakError(e, 'OCI_DIFF_ID_MISMATCH') || (image === skopeoLike && isCloakError(e, 'OCI_DIGEST_MISMATCH')),
        image.dir,
      );
      await assert.rejects(read(openLayerTar(image, imageLayer, { privateKey }, { diffIds, index: 1 })), (e) =>
        isCloakError(e, 'OCI_DIFF_ID_MISSING'),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
