import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { isCloakError } from '../../src/lib/index.ts';
import {
  OciLayout,
  buildImage,
  encryptImage,
  decryptImage,
  isEncrypted,
  layerKeyResources,
  openLayerTar,
} from '../../src/oci/index.ts';
import { tempDir } from './harness.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';

const has = (bin: string) => spawnSync(bin, ['--version']).status === 0;
const skip =
  has('skopeo') && has('umoci') && existsSync('/bin/busybox')
    ? false
    : 'needs skopeo, umoci and busybox-static (.ci/run installs them)';
const skopeo = (...args: string[]) => spawnSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8' });

function keys(dir: string) {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const out: Record<string, { pub: string; priv: string }> = {};
  for (const [name, k] of Object.entries({ rsa, ec })) {
    out[name] = { pub: join(dir, `${name}.pub`), priv: join(dir, `${name}.pem`) };
    writeFileSync(out[name]!.pub, k.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(out[name]!.priv, k.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  }
  return out;
}

async function plainImage(dir: string) {
  const layout = OciLayout.create(join(dir, 'plain'));
  await buildImage(
    layout,
    'v1',
    [await busyboxLayerTar(), await busyboxLayerTar([{ name: 'etc/motd', body: 'second layer\n' }])],
    { Cmd: ['/bin/sh'] },
  );
  return layout;
}

/** Runs `body` in a fresh temp dir with RSA and EC key files and a two-layer plain image; removes the dir after. */
async function withImage(
  prefix: string,
  body: (t: ReturnType<typeof tempDir>, k: ReturnType<typeof keys>, plain: OciLayout) => Promise<void>,
): Promise<void> {
  const t = tempDir(prefix);
  try {
    await body(t, keys(t.path), await plainImage(t.path));
  } finally {
    t.remove();
  }
}

const layerDigests = (layout: OciLayout, tag: string) => layout.resolve(tag).manifest.layers.map((l) => l.digest);

test(
  'skopeo encrypts (RSA and EC) → Cloak decrypts → the layers are the original ones; umoci unpacks the result',
  { skip },
  () =>
    withImage('cloak-ocicrypt-', async (t, k, plain) => {
      for (const kind of ['rsa', 'ec'] as const) {
        const enc = join(t.path, `skopeo-${kind}`);
        const r = skopeo('copy', '--encryption-key', `jwe:${k[kind]!.pub}`, `oci:${plain.dir}:v1`, `oci:${enc}:v1`);
        assert.equal(r.status, 0, r.stderr);
        const encLayout = OciLayout.open(enc);
        assert.ok(encLayout.resolve('v1').manifest.layers.every(isEncrypted));
        const out = OciLayout.create(join(t.path, `cloak-dec-${kind}`));
        const res = await decryptImage(encLayout, 'v1', out, 'v1', {
          privateKey: createPrivateKey(readFileSync(k[kind]!.priv)),
        });
        assert.equal(res.decrypted, 2);
        assert.deepEqual(layerDigests(out, 'v1'), layerDigests(plain, 'v1'));
        assert.equal(out.resolve('v1').manifest.config.digest, plain.resolve('v1').manifest.config.digest);
        const unpack = spawnSync('umoci', ['unpack', '--image', `${out.dir}:v1`, join(t.path, `bundle-${kind}`)], {
          encoding: 'utf8',
        });
        assert.equal(unpack.status, 0, unpack.stderr);
        assert.equal(readFileSync(join(t.path, `bundle-${kind}`, 'rootfs', 'etc', 'motd'), 'utf8'), 'second layer\n');
      }
    }),
);

test(
  'Cloak encrypts (jwe: RSA and EC recipients) → skopeo --decryption-key → the layers are the original ones',
  { skip },
  () =>
    withImage('cloak-ocicrypt-', async (t, k, plain) => {
      const enc = OciLayout.create(join(t.path, 'cloak-enc'));
      const pubs = ['rsa', 'ec'].map((n) => createPublicKey(readFileSync(k[n]!.pub)));
      const r = await encryptImage(plain, 'v1', enc, 'v1', { recipients: pubs });
      assert.equal(r.encrypted, 2);
      assert.notDeepEqual(layerDigests(enc, 'v1'), layerDigests(plain, 'v1'));
      for (const kind of ['rsa', 'ec'] as const) {
        const dec = join(t.path, `skopeo-dec-${kind}`);
        const s = skopeo('copy', '--decryption-key', k[kind]!.priv, `oci:${enc.dir}:v1`, `oci:${dec}:v1`);
        assert.equal(s.status, 0, s.stderr);
        assert.deepEqual(layerDigests(OciLayout.open(dec), 'v1'), layerDigests(plain, 'v1'));
      }
    }),
);

test(
  'a tampered encrypted layer is refused with OCI_HMAC_MISMATCH and nothing is tagged; the wrong key opens nothing',
  { skip },
  () =>
    withImage('cloak-ocicrypt-', async (t, k, plain) => {
      const enc = OciLayout.create(join(t.path, 'enc'));
      const kek = randomBytes(32);
      await encryptImage(plain, 'v1', enc, 'v1', {
        recipients: [createPublicKey(readFileSync(k.rsa!.pub))],
        attestationAgent: { kek, kid: 'kbs:///default/key/img' },
      });
      const { manifest, config } = enc.resolve('v1');
      const layer = manifest.layers[0]!;
      const check = { diffIds: config.rootfs!.diff_ids, index: 0 };
      assert.deepEqual(layerKeyResources(layer), ['default/key/img']);
      // The attestation-agent packet opens with the KEK the KBS would release.
      const tar = await openLayerTar(enc, layer, { keks: new Map([['default/key/img', kek]]) }, check);
      let n = 0;
      for await (const c of tar) n += (c as Buffer).length;
      assert.ok(n > 1000);
      await assert.rejects(
        openLayerTar(enc, layer, { keks: new Map([['default/key/img', randomBytes(32)]]) }, check),
        (e) => isCloakError(e, 'OCI_ENC_AA_UNWRAP'),
      );
      await assert.rejects(
        decryptImage(enc, 'v1', OciLayout.create(join(t.path, 'x')), 'v1', {
          privateKey: createPrivateKey(readFileSync(k.ec!.priv)),
        }),
        (e) => isCloakError(e, 'OCI_ENC_NO_KEY'),
      );

      // Flip one byte in the middle of the encrypted blob (same size, so only the HMAC can tell).
      const path = enc.blobPath(layer.digest);
      const bytes = readFileSync(path);
      bytes[Math.floor(bytes.length / 2)]! ^= 1;
      rmSync(path);
      writeFileSync(path, bytes);
      const raw = join(t.path, 'raw');
      const out = OciLayout.create(raw);
      await assert.rejects(
        decryptImage(enc, 'v1', out, 'v1', { privateKey: createPrivateKey(readFileSync(k.rsa!.priv)) }),
        (e) => isCloakError(e, 'OCI_DIGEST_MISMATCH') || isCloakError(e, 'OCI_HMAC_MISMATCH'),
      );
      assert.deepEqual(JSON.parse(readFileSync(join(raw, 'index.json'), 'utf8')).manifests, [], 'nothing tagged');
      assert.deepEqual(
        readdirSync(join(raw, 'blobs')).filter((n) => n.startsWith('.tmp')),
        [],
        'no half-written blob',
      );
      truncateSync(path, 10);
      await assert.rejects(
        decryptImage(enc, 'v1', out, 'v1', { privateKey: createPrivateKey(readFileSync(k.rsa!.priv)) }),
        (e) => isCloakError(e, 'OCI_BLOB_MISSING'),
      );
    }),
);

test(
  'docker-archive: skopeo writes an archive → cloak convert reads it → skopeo decrypts → same layer content as the archive',
  { skip },
  () =>
    withImage('cloak-archive-', async (t, k, plain) => {
      const archive = join(t.path, 'app.tar');
      assert.equal(skopeo('copy', `oci:${plain.dir}:v1`, `docker-archive:${archive}:app:v1`).status, 0);
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'convert',
          `docker-archive:${archive}:app:v1`,
          `oci:${join(t.path, 'enc')}:v1`,
          '--recipient',
          `jwe:${k.rsa!.pub}`,
          '--json',
        ],
        { encoding: 'utf8', cwd: join(import.meta.dirname, '..', '..') },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).encryptedLayers, 2);
      const dec = join(t.path, 'dec');
      const s = skopeo('copy', '--decryption-key', k.rsa!.priv, `oci:${join(t.path, 'enc')}:v1`, `oci:${dec}:v1`);
      assert.equal(s.status, 0, s.stderr);
      // The archive holds uncompressed layers: decrypted, their digests are the image's diff IDs.
      assert.deepEqual(layerDigests(OciLayout.open(dec), 'v1'), plain.resolve('v1').config.rootfs!.diff_ids);
      const bad = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'image',
          'inspect',
          `docker-archive:${join(t.path, 'plain', 'oci-layout')}`,
        ],
        { encoding: 'utf8', cwd: join(import.meta.dirname, '..', '..') },
      );
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /OCI_/);
    }),
);
