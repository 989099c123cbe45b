import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { OciLayout, buildImage, decryptImage, layerKeyResources } from '../../src/oci/index.ts';
import { runCloak, tempDir } from './harness.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';

// A stub of the admin API, only to check the shape of what `convert --server` sends; the real server's e2e is convert-run.test.ts.
type Seen = { method: string; url: string; auth?: string; body: unknown };
let stub: FastifyInstance;
let url: string;
const seen: Seen[] = [];
let dir: ReturnType<typeof tempDir>;
let plain: OciLayout;

before(async () => {
  dir = tempDir('cloak-oci-convert-server-');
  plain = OciLayout.create(join(dir.path, 'plain'));
  await buildImage(
    plain,
    'v1',
    [await busyboxLayerTar(), await busyboxLayerTar([{ name: 'etc/motd', body: 'hi\n' }])],
    { Cmd: ['/bin/sh'] },
  );
  stub = Fastify();
  stub.put('/api/v1/*', async (req, reply) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body: req.body });
    if (req.headers.authorization !== 'Bearer admin-t')
      return reply.code(401).send({ type: 'about:blank', detail: 'bad token' });
    return reply.code(204).send();
  });
  url = await stub.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await stub?.close();
  dir?.remove();
});

test('convert --server stores a 32-byte KEK as default/key/<id>, then records the reference values, in the admin API shape', async () => {
  seen.length = 0;
  const dst = join(dir.path, 'enc');
  const r = await runCloak([
    'convert',
    `oci:${plain.dir}:v1`,
    `oci:${dst}:v1`,
    '--server',
    url,
    '--token',
    'admin-t',
    '--key-id',
    'app1',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual(
    seen.map((s) => `${s.method} ${s.url}`),
    ['PUT /api/v1/resources/default/key/app1', 'PUT /api/v1/reference-values/app1'],
  );
  assert.ok(seen.every((s) => s.auth === 'Bearer admin-t'));
  const kekBody = seen[0]!.body as { value: string };
  assert.deepEqual(Object.keys(kekBody), ['value']);
  assert.match(kekBody.value, /^[A-Za-z0-9+/]+={0,2}$/, 'standard base64');
  const kek = Buffer.from(kekBody.value, 'base64');
  assert.equal(kek.length, 32);
  const refs = seen[1]!.body as Record<string, unknown>;
  assert.deepEqual(Object.keys(refs).sort(), ['configDigest', 'image', 'layers', 'manifestDigest']);
  const enc = OciLayout.open(dst).resolve('v1');
  assert.equal(refs.manifestDigest, enc.descriptor.digest);
  assert.equal(refs.configDigest, plain.resolve('v1').manifest.config.digest, 'the config is unchanged');
  assert.deepEqual(
    refs.layers,
    enc.manifest.layers.map((l) => l.digest),
  );
  assert.equal(refs.image, `oci:${dst}:v1`);
  assert.equal(summary.keyResource, 'default/key/app1');
  assert.deepEqual(enc.manifest.layers.map(layerKeyResources), [['default/key/app1'], ['default/key/app1']]);
  // The KEK the server received opens the image: the decrypted layers are the original ones.
  const out = OciLayout.create(join(dir.path, 'dec'));
  await decryptImage(OciLayout.open(dst), 'v1', out, 'v1', { keks: new Map([['default/key/app1', kek]]) });
  assert.deepEqual(
    out.resolve('v1').manifest.layers.map((l) => l.digest),
    plain.resolve('v1').manifest.layers.map((l) => l.digest),
  );
});

test('convert takes the server and token from CLOAK_SERVER / CLOAK_TOKEN; a refused token fails before any image is written', async () => {
  seen.length = 0;
  const ok = await runCloak(
    ['convert', `oci:${plain.dir}:v1`, `oci:${join(dir.path, 'env')}:v1`, '--encrypt-layers', '1'],
    { env: { CLOAK_SERVER: url, CLOAK_TOKEN: 'admin-t' } },
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(seen[0]!.url, '/api/v1/resources/default/key/env-v1', 'key id defaults to the destination name');
  const layers = OciLayout.open(join(dir.path, 'env')).resolve('v1').manifest.layers;
  assert.deepEqual(
    layers.map((l) => l.mediaType.endsWith('+encrypted')),
    [false, true],
  );

  const refused = await runCloak([
    'convert',
    `oci:${plain.dir}:v1`,
    `oci:${join(dir.path, 'refused')}:v1`,
    '--server',
    url,
    '--token',
    'wrong',
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /401/);
  assert.equal(existsSync(join(dir.path, 'refused')), false);

  const badId = await runCloak([
    'convert',
    `oci:${plain.dir}:v1`,
    `oci:${join(dir.path, 'bad')}:v1`,
    '--server',
    url,
    '--token',
    'admin-t',
    '--key-id',
    '../x',
  ]);
  assert.equal(badId.code, 2);
  const badLayer = await runCloak([
    'convert',
    `oci:${plain.dir}:v1`,
    `oci:${join(dir.path, 'bad')}:v1`,
    '--recipient',
    'jwe:/nonexistent.pem',
  ]);
  assert.equal(badLayer.code, 2);
  assert.equal(existsSync(join(dir.path, 'bad')), false);
});
