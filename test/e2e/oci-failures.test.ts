import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  OciLayout,
  buildImage,
  pushFromLayout,
  parseDockerReference,
  type ImageManifest,
} from '../../src/oci/index.ts';
import { runCloak, tempDir } from './harness.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';
import { startRegistry, skopeo, registrySkopeoSkip } from '../support/registry.ts';

const skip = registrySkopeoSkip();

let dir: ReturnType<typeof tempDir>;
let registry: Awaited<ReturnType<typeof startRegistry>>;
let enc: string;
const key = { rsa: '', ec: '' };

before(async () => {
  if (skip) return;
  dir = tempDir('cloak-oci-failures-');
  registry = await startRegistry();
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir.path, 'rsa.pub'), rsa.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync((key.rsa = join(dir.path, 'rsa.pem')), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(
    (key.ec = join(dir.path, 'ec.pem')),
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  );
  const plain = OciLayout.create(join(dir.path, 'plain'));
  await buildImage(
    plain,
    'v1',
    [
      await busyboxLayerTar(),
      await busyboxLayerTar([{ name: 'data/blob', body: randomBytes(200_000).toString('latin1') }]),
    ],
    { Cmd: ['/bin/sh'] },
  );
  enc = join(dir.path, 'enc');
  const s = skopeo(
    'copy',
    '--encryption-key',
    `jwe:${join(dir.path, 'rsa.pub')}`,
    `oci:${plain.dir}:v1`,
    `oci:${enc}:v1`,
  );
  assert.equal(s.status, 0, s.stderr);
});
after(async () => {
  await registry?.stop();
  dir?.remove();
});

/** A copy of the skopeo-encrypted layout whose manifest (and last layer) `change` alters; the first layer stays good. */
async function tampered(
  name: string,
  change: (m: ImageManifest, layout: OciLayout) => Promise<void> | void,
): Promise<string> {
  const path = join(dir.path, `case-${name}`);
  cpSync(enc, path, { recursive: true });
  const layout = OciLayout.open(path);
  const { manifest } = layout.resolve('v1');
  await change(manifest, layout);
  layout.tag('v1', manifest);
  return path;
}

async function replaceLastLayer(m: ImageManifest, layout: OciLayout, edit: (b: Buffer) => Buffer): Promise<void> {
  const last = m.layers[m.layers.length - 1]!;
  const bytes = edit(readFileSync(layout.blobPath(last.digest)));
  Object.assign(last, await layout.writeBlob(Readable.from([bytes])));
}

const lastBlobPath = (path: string) => {
  const l = OciLayout.open(path);
  const m = l.resolve('v1').manifest;
  return l.blobPath(m.layers[m.layers.length - 1]!.digest);
};
const snapshot = (path: string) => ({
  files: readdirSync(path, { recursive: true }).map(String).sort(),
  index: readFileSync(join(path, 'index.json'), 'utf8'),
});

const cases: Array<[string, () => Promise<string>, RegExp]> = [
  [
    'corrupted ciphertext (digest fixed up)',
    () =>
      tampered('ct', (m, l) =>
        replaceLastLayer(m, l, (b) => {
          b[b.length >> 1]! ^= 1;
          return b;
        }),
      ),
    /OCI_HMAC_MISMATCH/,
  ],
  [
    'corrupted HMAC',
    () =>
      tampered('hmac', (m) => {
        const last = m.layers[m.layers.length - 1]!;
        const pub = JSON.parse(
          Buffer.from(last.annotations!['org.opencontainers.image.enc.pubopts']!, 'base64').toString(),
        );
        pub.hmac = randomBytes(32).toString('base64');
        last.annotations!['org.opencontainers.image.enc.pubopts'] = Buffer.from(JSON.stringify(pub)).toString('base64');
      }),
    /OCI_HMAC_MISMATCH/,
  ],
  [
    'truncated blob (digest fixed up)',
    () => tampered('trunc', (m, l) => replaceLastLayer(m, l, (b) => b.subarray(0, b.length >> 1))),
    /OCI_HMAC_MISMATCH/,
  ],
  [
    'truncated blob file',
    async () => {
      const p = await tampered('trunc-file', () => {});
      truncateSync(lastBlobPath(p), 1000);
      return p;
    },
    /OCI_BLOB_MISSING/,
  ],
  [
    'corrupted blob file',
    async () => {
      const p = await tampered('flip-file', () => {});
      const f = lastBlobPath(p);
      const b = readFileSync(f);
      b[100]! ^= 1;
      writeFileSync(f, b);
      return p;
    },
    /OCI_(DIGEST|HMAC)_MISMATCH/,
  ],
  [
    'unknown cipher',
    () =>
      tampered('cipher', (m) => {
        const last = m.layers[m.layers.length - 1]!;
        last.annotations!['org.opencontainers.image.enc.pubopts'] = Buffer.from(
          JSON.stringify({ cipher: 'AES_128_CBC', hmac: '', cipheroptions: {} }),
        ).toString('base64');
      }),
    /OCI_ENC_CIPHER_UNSUPPORTED/,
  ],
  [
    'bad manifest',
    () =>
      tampered('manifest', (m) => {
        (m as unknown as { layers: unknown }).layers = [{ digest: 'sha256:zz', size: -1 }];
      }),
    /OCI_MANIFEST_INVALID/,
  ],
];

test(
  'tampered images: `cloak image decrypt` fails with a typed error and writes nothing (new or existing destination)',
  { skip },
  async () => {
    const existing = join(dir.path, 'existing');
    const ok = await runCloak(['image', 'decrypt', `oci:${enc}:v1`, `oci:${existing}:good`, '--key', key.rsa]);
    assert.equal(ok.code, 0, ok.stderr);
    const before = snapshot(existing);
    for (const [name, make, code] of cases) {
      const src = await make();
      const fresh = join(dir.path, `out-${name.replace(/\W+/g, '-')}`);
      for (const dst of [`oci:${fresh}:v1`, `oci:${existing}:v1`]) {
        const r = await runCloak(['image', 'decrypt', `oci:${src}:v1`, dst, '--key', key.rsa]);
        assert.equal(r.code, 1, `${name}: ${r.stderr}`);
        assert.match(r.stderr, code, name);
      }
      assert.equal(existsSync(fresh), false, `${name}: no new destination`);
      assert.deepEqual(snapshot(existing), before, `${name}: existing layout unchanged`);
      assert.deepEqual(
        readdirSync(dir.path).filter((n) => n.includes('cloak-staging')),
        [],
        `${name}: no staging left behind`,
      );
    }
    const wrong = await runCloak([
      'image',
      'decrypt',
      `oci:${enc}:v1`,
      `oci:${join(dir.path, 'wrong-key')}:v1`,
      '--key',
      key.ec,
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /OCI_ENC_NO_KEY/);
    assert.equal(existsSync(join(dir.path, 'wrong-key')), false);
  },
);

test(
  'through the registry: a tampered layer pulled from docker-registry is refused and nothing is pushed or written',
  { skip },
  async () => {
    const src = await tampered('registry', (m, l) =>
      replaceLastLayer(m, l, (b) => {
        b[7]! ^= 0x40;
        return b;
      }),
    );
    await pushFromLayout(OciLayout.open(src), 'v1', parseDockerReference(`docker://${registry.host}/app:tampered`), {
      tlsVerify: false,
    });
    const out = join(dir.path, 'from-registry');
    const r = await runCloak([
      'image',
      'decrypt',
      `docker://${registry.host}/app:tampered`,
      `oci:${out}:v1`,
      '--key',
      key.rsa,
      '--tls-verify=false',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /OCI_HMAC_MISMATCH/);
    assert.equal(existsSync(out), false);
    const toRegistry = await runCloak([
      'image',
      'decrypt',
      `docker://${registry.host}/app:tampered`,
      `docker://${registry.host}/app:should-not-exist`,
      '--key',
      key.rsa,
      '--tls-verify=false',
    ]);
    assert.equal(toRegistry.code, 1);
    const res = await fetch(`http://${registry.host}/v2/app/manifests/should-not-exist`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(res.status, 404, 'no manifest pushed');
  },
);
