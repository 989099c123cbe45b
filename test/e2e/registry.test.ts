import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OciLayout, buildImage } from '../../src/oci/index.ts';
import { startSimCloak, allowSim, runCloak, tempDir, type CloakServer } from './harness.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';
import { startRegistry, skopeo, registrySkopeoSkip } from '../support/registry.ts';

const has = (bin: string) => spawnSync(bin, ['--version']).status === 0;
const skip = registrySkopeoSkip();
const canRun = process.getuid?.() === 0 && has('runc');

let registry: Awaited<ReturnType<typeof startRegistry>>;
let server: CloakServer;
let dir: ReturnType<typeof tempDir>;
let plain: OciLayout;
const keys: Record<string, { pub: string; priv: string }> = {};

before(async () => {
  if (skip) return;
  dir = tempDir('cloak-registry-e2e-');
  registry = await startRegistry();
  server = await startSimCloak(dir.path);
  for (const [name, pair] of Object.entries({
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ec: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  })) {
    keys[name] = { pub: join(dir.path, `${name}.pub`), priv: join(dir.path, `${name}.pem`) };
    writeFileSync(keys[name]!.pub, pair.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(keys[name]!.priv, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  }
  plain = OciLayout.create(join(dir.path, 'plain'));
  // A 10 MiB incompressible layer makes Cloak's push take the chunked upload path.
  await buildImage(
    plain,
    'v1',
    [
      await busyboxLayerTar(),
      await busyboxLayerTar([{ name: 'data/random', body: randomBytes(10 * 1024 * 1024).toString('latin1') }]),
    ],
    { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo "registry app read: $(cat /run/cloak/secrets/msg)"'], User: 'app' },
  );
  const push = skopeo('copy', '--dest-tls-verify=false', `oci:${plain.dir}:v1`, `docker://${registry.host}/app:v1`);
  assert.equal(push.status, 0, push.stderr);
});
after(async () => {
  await server?.stop();
  await registry?.stop();
  dir?.remove();
});

const digests = (layoutDir: string, tag: string) =>
  OciLayout.open(layoutDir)
    .resolve(tag)
    .manifest.layers.map((l) => l.digest);

test(
  'cloak convert through the registry → skopeo --decryption-key from the registry gives the original layers',
  { skip },
  async () => {
    const r = await runCloak([
      'convert',
      `docker://${registry.host}/app:v1`,
      `docker://${registry.host}/app:enc`,
      '--recipient',
      `jwe:${keys.rsa!.pub}`,
      '--recipient',
      `jwe:${keys.ec!.pub}`,
      '--tls-verify=false',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).encryptedLayers, 2);
    for (const kind of ['rsa', 'ec']) {
      const out = join(dir.path, `skopeo-dec-${kind}`);
      const s = skopeo(
        'copy',
        '--src-tls-verify=false',
        '--decryption-key',
        keys[kind]!.priv,
        `docker://${registry.host}/app:enc`,
        `oci:${out}:v1`,
      );
      assert.equal(s.status, 0, s.stderr);
      assert.deepEqual(digests(out, 'v1'), digests(plain.dir, 'v1'));
    }
    // Into another repository of the same registry: the unchanged config blob is mounted, not uploaded again.
    const other = await runCloak([
      'convert',
      `docker://${registry.host}/app:v1`,
      `docker://${registry.host}/team/app-enc:v1`,
      '--recipient',
      `jwe:${keys.rsa!.pub}`,
      '--tls-verify=false',
    ]);
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stderr, /push docker:\/\/[^ ]+: sha256:[0-9a-f]{12} mounted/);
    assert.match(other.stderr, /push docker:\/\/[^ ]+: sha256:[0-9a-f]{12} uploaded/);
    const inspect = JSON.parse(
      (await runCloak(['image', 'inspect', `docker://${registry.host}/app:enc`, '--tls-verify=false', '--json']))
        .stdout,
    );
    assert.ok(inspect.layers.every((l: any) => l.encrypted && l.recipients.includes('jwe')));
  },
);

test(
  'skopeo encrypts into the registry → cloak image decrypt from the registry gives the original layers',
  { skip },
  async () => {
    const s = skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--encryption-key',
      `jwe:${keys.ec!.pub}`,
      `oci:${plain.dir}:v1`,
      `docker://${registry.host}/app:skopeo-enc`,
    );
    assert.equal(s.status, 0, s.stderr);
    const out = join(dir.path, 'cloak-dec');
    const r = await runCloak([
      'image',
      'decrypt',
      `docker://${registry.host}/app:skopeo-enc`,
      `oci:${out}:v1`,
      '--key',
      keys.ec!.priv,
      '--tls-verify=false',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(digests(out, 'v1'), digests(plain.dir, 'v1'));
    const wrong = await runCloak([
      'image',
      'decrypt',
      `docker://${registry.host}/app:skopeo-enc`,
      `oci:${join(dir.path, 'nothing')}:v1`,
      '--key',
      keys.rsa!.priv,
      '--tls-verify=false',
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /OCI_ENC_NO_KEY/);
    const missing = await runCloak(['image', 'inspect', `docker://${registry.host}/nope:v1`, '--tls-verify=false']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /OCI_REGISTRY_NOT_FOUND/);
  },
);

test(
  'cloak run pulls an image converted for the KBS from the registry and runs it',
  { skip: skip || (canRun ? false : 'needs root and runc') },
  async () => {
    const env = { CLOAK_SERVER: server.url, CLOAK_TOKEN: server.token };
    const conv = await runCloak(
      ['convert', `docker://${registry.host}/app:v1`, `docker://${registry.host}/app:kbs`, '--tls-verify=false'],
      { env },
    );
    assert.equal(conv.code, 0, conv.stderr);
    await runCloak(['resource', 'set', 'default/secret/msg', '--value', 'via the registry'], { env });
    await allowSim(server);
    const run = await runCloak(
      [
        'run',
        `docker://${registry.host}/app:kbs`,
        '--tls-verify=false',
        '--sim-dir',
        join(dir.path, 'sim'),
        '--secret',
        'default/secret/msg:msg',
        '-q',
      ],
      { env },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'registry app read: via the registry\n');
  },
);
