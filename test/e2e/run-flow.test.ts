import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { isCloakError } from '../../src/lib/index.ts';
import { runConfidential, runInitData, type RunnableImage } from '../../src/runtime/index.ts';

type SecretRequest = NonNullable<Parameters<typeof runConfidential>[0]['secrets']>[number];
import { startSimCloak, allowSim, http, tempDir, type CloakServer, setResource } from './harness.ts';
import { newLeftovers, runLeftovers } from '../support/run-leftovers.ts';
import { busyboxLayerTar, streamOf } from '../support/busybox-layer.ts';

const canRun = process.getuid?.() === 0 && spawnSync('runc', ['--version']).status === 0 && existsSync('/bin/busybox');
const skip = canRun ? false : 'needs root, runc and busybox-static';

let server: CloakServer;
let dir: ReturnType<typeof tempDir>;
let layer: Buffer;
const admin = () => ({ authorization: `Bearer ${server.token}` });

const runsBefore = runLeftovers();
before(async () => {
  if (skip) return;
  dir = tempDir('cloak-runflow-');
  server = await startSimCloak(dir.path);
  await setResource(server, 'default/secret/greeting', 'hello from the KBS');
  layer = await busyboxLayerTar();
});
after(async () => {
  await server?.stop();
  dir?.remove();
});

function image(): RunnableImage {
  return {
    reference: 'oci:busybox:latest',
    manifestDigest: 'sha256:' + createHash('sha256').update(layer).digest('hex'),
    config: {
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo "secret: $(cat /run/cloak/secrets/greeting)"; id -u'],
      User: 'app',
    },
    layers: [{ digest: 'sha256:x', keyResources: [], open: async () => streamOf(layer) }],
  };
}

/** Plaintext that `cloak run` could leave behind: run directories that were not there before. */
const leftovers = () => newLeftovers(runsBefore);

/** Runs the image expecting a refusal with `code` before anything starts: no layer opened, no output, nothing left. */
async function assertRefusedBeforeStart(secrets: SecretRequest[], code: string): Promise<void> {
  let opened = false;
  const img = image();
  img.layers[0]!.open = async () => {
    opened = true;
    return streamOf(layer);
  };
  let out = '';
  await assert.rejects(
    runConfidential({
      image: img,
      server: server.url,
      simDir: join(dir.path, 'sim'),
      secrets,
      stdio: 'pipe',
      onOutput: (c) => (out += c),
    }),
    (e) => isCloakError(e, code),
  );
  assert.equal(opened, false, 'no layer was opened');
  assert.equal(out, '', 'the container never started');
  assert.deepEqual(leftovers(), []);
}

test(
  'refused under a policy that denies sim: nothing decrypted or started, nothing left on disk',
  { skip },
  async () => {
    await assertRefusedBeforeStart([{ resource: 'default/secret/greeting', file: 'greeting' }], 'POLICY_INSECURE_TEE');
  },
);

test(
  'attests with the simulated TEE, receives the secret, runs the unchanged entrypoint with runc',
  { skip },
  async () => {
    await allowSim(server);
    let out = '';
    const r = await runConfidential({
      image: image(),
      server: server.url,
      simDir: join(dir.path, 'sim'),
      secrets: [{ resource: 'default/secret/greeting', file: 'greeting' }],
      stdio: 'pipe',
      onOutput: (c) => (out += c),
    });
    assert.equal(r.exitCode, 0, out);
    assert.equal(out, 'secret: hello from the KBS\n1000\n');
    assert.deepEqual(leftovers(), [], 'plaintext rootfs and secrets removed');
    for (const k of ['attestMs', 'keysMs', 'unpackMs', 'runMs'] as const) assert.ok(r.timings[k] > 0);
  },
);

// cloak run writes secrets the way cloak agent init does (agent/secrets.ts); its own copy had lost these checks.
for (const [what, secrets, code] of [
  ['a binary value as a variable', [{ resource: 'default/secret/binary', env: 'BIN' }], 'AGENT_ENV_BINARY'],
  [
    'a file secret named cloak.env beside a variable',
    [
      { resource: 'default/secret/greeting', file: 'cloak.env' },
      { resource: 'default/secret/greeting', env: 'GREETING' },
    ],
    'AGENT_SECRET_CONFLICT',
  ],
  [
    'a file secret inside another',
    [
      { resource: 'default/secret/greeting', file: 'a' },
      { resource: 'default/secret/greeting', file: 'a/b' },
    ],
    'AGENT_SECRET_CONFLICT',
  ],
] as const) {
  test(
    `${what} is refused with ${code} after attestation, before any layer is unpacked; nothing left`,
    { skip },
    async () => {
      await allowSim(server);
      await http('PUT', `${server.url}/api/v1/resources/default/secret/binary`, {
        body: { value: Buffer.from([0x41, 0x00, 0x42]).toString('base64') },
        headers: admin(),
      });
      await assertRefusedBeforeStart([...secrets], code);
    },
  );
}

test('init-data naming another image digest is refused with the reason', { skip }, async () => {
  const other = runInitData('busybox', server.url, 'sha256:' + 'f'.repeat(64), []);
  await assert.rejects(
    runConfidential({
      image: image(),
      server: server.url,
      simDir: join(dir.path, 'sim'),
      initData: other,
      stdio: 'pipe',
    }),
    (e) => isCloakError(e, 'RUN_IMAGE_MISMATCH') && /sha256:f{64}/.test((e as Error).message),
  );
});

test('the container exit code comes back', { skip }, async () => {
  const img = image();
  img.config = { Cmd: ['/bin/sh', '-c', 'exit 3'] };
  const r = await runConfidential({ image: img, server: server.url, simDir: join(dir.path, 'sim'), stdio: 'pipe' });
  assert.equal(r.exitCode, 3);
});
