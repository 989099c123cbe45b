import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OciLayout, buildImage } from '../../src/oci/index.ts';
import { startSimCloak, allowSim, runCloak, http, tempDir, type CloakServer } from './harness.ts';
import { newLeftovers, runLeftovers } from '../support/run-leftovers.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';

const canRun = process.getuid?.() === 0 && spawnSync('runc', ['--version']).status === 0 && existsSync('/bin/busybox');
const skip = canRun ? false : 'needs root, runc and busybox-static';
let server: CloakServer;
let dir: ReturnType<typeof tempDir>;
const env = () => ({ CLOAK_SERVER: server.url, CLOAK_TOKEN: server.token });

const runsBefore = runLeftovers();
before(async () => {
  if (skip) return;
  dir = tempDir('cloak-convert-run-');
  server = await startSimCloak(dir.path);
  const layout = OciLayout.create(join(dir.path, 'app'));
  await buildImage(layout, 'v1', [await busyboxLayerTar()], {
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['echo "the app read: $(cat /run/cloak/secrets/message)"'],
    User: 'app',
  });
  await runCloak(['resource', 'set', 'default/secret/message', '--value', 'only after attestation'], { env: env() });
});
after(async () => {
  await server?.stop();
  dir?.remove();
});

/** Plaintext that `cloak run` could leave behind: run directories that were not there before. */
const leftovers = () => newLeftovers(runsBefore);
/** `cloak run` of the encrypted app with the message secret. */
const runApp = () =>
  runCloak(
    [
      'run',
      `oci:${join(dir.path, 'app-enc')}:v1`,
      '--sim-dir',
      join(dir.path, 'sim'),
      '--secret',
      'default/secret/message:message',
    ],
    { env: env() },
  );

test(
  'cloak convert --server stores the key and reference values; cloak run decrypts and runs it only after attestation',
  { skip },
  async () => {
    const conv = await runCloak(
      ['convert', `oci:${join(dir.path, 'app')}:v1`, `oci:${join(dir.path, 'app-enc')}:v1`, '--json'],
      { env: env() },
    );
    assert.equal(conv.code, 0, conv.stderr);
    const summary = JSON.parse(conv.stdout);
    assert.equal(summary.encryptedLayers, 1);
    assert.equal(summary.keyResource, 'default/key/app-enc-v1');
    const refs = await http('GET', `${server.url}/api/v1/reference-values`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    assert.equal(refs.json[0].value.manifestDigest, summary.manifestDigest);
    const inspect = JSON.parse(
      (await runCloak(['image', 'inspect', `oci:${join(dir.path, 'app-enc')}:v1`, '--json'])).stdout,
    );
    assert.deepEqual(inspect.layers[0].recipients, ['kbs:///default/key/app-enc-v1']);

    const refused = await runApp();
    assert.equal(refused.code, 1, 'the default policy refuses the simulated TEE');
    assert.match(refused.stderr, /POLICY_INSECURE_TEE/);
    assert.doesNotMatch(refused.stdout, /the app read/);
    assert.deepEqual(leftovers(), []);

    await allowSim(server);
    const ok = await runApp();
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'the app read: only after attestation\n');
    assert.match(ok.stderr, /simulated: proves nothing/);
    assert.deepEqual(leftovers(), []);

    const exit = await runCloak(
      ['run', `oci:${join(dir.path, 'app-enc')}:v1`, '--sim-dir', join(dir.path, 'sim'), '-q', '--', 'exit 42'],
      { env: env() },
    );
    assert.equal(exit.code, 42, exit.stderr);
  },
);

test('npm run demo: the container prints the secret it received after attestation', { skip }, async () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
    encoding: 'utf8',
    cwd: join(import.meta.dirname, '..', '..'),
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^app: my database password is 'hunter2-[0-9a-f]{6}' \(I read it from \/run\/cloak\/secrets\)$/m,
  );
  assert.match(r.stderr, /SIMULATED TEE/);
  assert.match(r.stderr, /\[6\/6\]/);
});

test(
  "the server's reference values (the manifest) not matching the pulled image: refused with the reason, nothing runs",
  { skip },
  async () => {
    const alice = (await import('node:crypto')).generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const manifest = (await import('yaml')).stringify({
      version: 1,
      owners: {
        approvals: 1,
        users: [
          {
            name: 'alice',
            publicKey: alice.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
            roles: ['owner'],
          },
        ],
      },
      secrets: [{ name: 'message', resource: 'default/secret/message' }],
      workloads: [
        {
          name: 'app-enc',
          images: ['sha256:' + 'e'.repeat(64)],
          secrets: [{ name: 'message', file: 'message' }],
          keys: ['default/key/app-enc-v1'],
        },
      ],
    });
    const { manifestDigest } = await import('../../src/manifest/index.ts');
    const digest = manifestDigest((await import('yaml')).parse(manifest));
    const signature = (await import('node:crypto'))
      .sign('sha256', Buffer.from(`cloak-manifest-v1:${digest}`), alice.privateKey)
      .toString('base64');
    const set = await http('PUT', `${server.url}/api/v1/manifest`, {
      body: { manifest, signatures: [{ user: 'alice', signature }] },
      headers: { authorization: `Bearer ${server.token}` },
    });
    assert.equal(set.status, 200, set.text);
    const r = await runApp();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /KBS_POLICY_DENY.*names image sha256:[0-9a-f]{64}, which the manifest does not list/);
    assert.doesNotMatch(r.stdout, /the app read/);
    assert.deepEqual(leftovers(), []);
  },
);
