import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { OciLayout, buildImage } from '../../src/oci/index.ts';
import { runCloak, tempDir } from './harness.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';
import { startRegistry, skopeo, registrySkopeoSkip } from '../support/registry.ts';

const skip = registrySkopeoSkip();

let dir: ReturnType<typeof tempDir>;
let registry: Awaited<ReturnType<typeof startRegistry>>;
let multi: OciLayout;
let pub: string;
let priv: string;
const perArch: Record<string, string[]> = {};

before(async () => {
  if (skip) return;
  dir = tempDir('cloak-oci-platform-');
  registry = await startRegistry();
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync((pub = join(dir.path, 'rsa.pub')), rsa.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync((priv = join(dir.path, 'rsa.pem')), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  // A two-platform index built here: same busybox layer, a per-arch marker layer, per-arch configs.
  multi = OciLayout.create(join(dir.path, 'multi'));
  const entries = [];
  for (const architecture of ['amd64', 'arm64']) {
    const d = await buildImage(
      multi,
      architecture,
      [await busyboxLayerTar(), await busyboxLayerTar([{ name: 'etc/arch', body: architecture }])],
      { Cmd: ['/bin/sh'] },
      { os: 'linux', architecture },
    );
    entries.push({ mediaType: d.mediaType, digest: d.digest, size: d.size, platform: { os: 'linux', architecture } });
    perArch[architecture] = multi.resolve(architecture).manifest.layers.map((l) => l.digest);
  }
  const index = multi.writeJson('application/vnd.oci.image.index.v1+json', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: entries,
  });
  multi.tagBytes('multi', multi.readBytes(index), index.mediaType);
  const s = skopeo(
    'copy',
    '--all',
    '--dest-tls-verify=false',
    `oci:${multi.dir}:multi`,
    `docker://${registry.host}/multi:v1`,
  );
  assert.equal(s.status, 0, s.stderr);
});
after(async () => {
  await registry?.stop();
  dir?.remove();
});

const arch = async (ref: string, ...extra: string[]) => {
  const r = await runCloak(['image', 'inspect', ref, '--json', '--tls-verify=false', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).architecture as string;
};

test(
  'image indexes are resolved by --platform (default this machine) in OCI layouts and in the registry',
  { skip },
  async () => {
    const host = process.arch === 'arm64' ? 'arm64' : 'amd64';
    assert.equal(await arch(`oci:${multi.dir}:multi`), host);
    assert.equal(await arch(`oci:${multi.dir}:multi`, '--platform', 'linux/arm64'), 'arm64');
    assert.equal(await arch(`docker://${registry.host}/multi:v1`, '--platform', 'linux/arm64'), 'arm64');
    assert.equal(await arch(`docker://${registry.host}/multi:v1`, '--platform', 'linux/amd64'), 'amd64');

    const out = join(dir.path, 'arm-enc');
    const c = await runCloak([
      'convert',
      `docker://${registry.host}/multi:v1`,
      `oci:${out}:v1`,
      '--platform',
      'linux/arm64',
      '--recipient',
      `jwe:${pub}`,
      '--tls-verify=false',
    ]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(OciLayout.open(out).resolve('v1').config.architecture, 'arm64');
    const dec = join(dir.path, 'arm-dec');
    const s = skopeo('copy', '--decryption-key', priv, `oci:${out}:v1`, `oci:${dec}:v1`);
    assert.equal(s.status, 0, s.stderr);
    assert.deepEqual(
      OciLayout.open(dec)
        .resolve('v1')
        .manifest.layers.map((l) => l.digest),
      perArch.arm64,
    );

    const none = await runCloak([
      'image',
      'inspect',
      `docker://${registry.host}/multi:v1`,
      '--platform',
      'linux/s390x',
      '--tls-verify=false',
    ]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /OCI_PLATFORM_UNAVAILABLE/);
    const bad = await runCloak(['image', 'inspect', `oci:${multi.dir}:multi`, '--platform', 'linux']);
    assert.equal(bad.code, 2);
  },
);

test('transient registry errors (503 on the first try of every GET) are retried', { skip }, async () => {
  // A loopback proxy in front of docker-registry that fails each GET once before forwarding it.
  const seen = new Set<string>();
  let failed = 0;
  const [rhost, rport] = registry.host.split(':');
  const proxy: Server = createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    if (req.method === 'GET' && !seen.has(key)) {
      seen.add(key);
      failed++;
      res.writeHead(503).end('try again');
      req.resume();
      return;
    }
    const up = request(
      {
        host: rhost,
        port: Number(rport),
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: registry.host },
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const via = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
  try {
    const out = join(dir.path, 'retried');
    const r = await runCloak([
      'convert',
      `docker://${via}/multi:v1`,
      `oci:${out}:v1`,
      '--platform',
      'linux/amd64',
      '--recipient',
      `jwe:${pub}`,
      '--tls-verify=false',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(failed >= 4, `index, manifest, config and layers each failed once (${failed})`);
    assert.equal(OciLayout.open(out).resolve('v1').manifest.layers.length, 2);
  } finally {
    await new Promise((r) => proxy.close(r));
  }
});
