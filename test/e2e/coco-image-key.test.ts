import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { stringify } from 'yaml';
import { OciLayout, buildImage, decryptImage, ANNOTATION_AA } from '../../src/oci/index.ts';
import { decodeInitData, initDataText } from '../../src/lib/index.ts';
import { INITDATA_ANNOTATION } from '../../src/k8s/index.ts';
import { CocoAttestationAgent, cdhGetResource, KbsError } from '../../src/kbs/testing/coco-aa.ts';
import { startSimCloak, allowSim, runCloak, tempDir, type CloakServer } from './harness.ts';
import { readSimDevice, simGuestHardware, type SimDevice } from './tee-evidence.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';
import { parseYamlStream } from '../support/k8s-validate.ts';
import { startRegistry, registryAvailable, skopeo } from '../support/registry.ts';

/*
 * The whole image-key path of a CoCo pod, with the real parts: `cloak convert`
 * encrypts an image into a loopback docker-registry for the Cloak server, `cloak
 * generate` writes the pod spec and its init-data, and the guest is played by
 * the AA/CDH stand-in (src/kbs/testing/coco-aa.ts) with simulated evidence that
 * holds that init-data: it attests, fetches the key the pulled image's layer
 * annotation names with its Bearer token, and the layer is decrypted with it as
 * image-rs would (the attestation-agent key-provider packet).
 */

const has = (bin: string) => spawnSync(bin, ['--version']).status === 0;
const skip =
  registryAvailable() && has('skopeo') && has('umoci') && existsSync('/bin/busybox')
    ? false
    : 'needs docker-registry, skopeo, umoci and busybox-static';

/** The launch measurement of the (simulated) guest image the workload pins. */
const GUEST_IMAGE = createHash('sha384').update('the peer-pod guest image').digest();
const MOTD = 'decrypted in the guest\n';

let registry: Awaited<ReturnType<typeof startRegistry>>;
let server: CloakServer;
let dir: ReturnType<typeof tempDir>;
let device: SimDevice;
let image: string; // registry/app@sha256:… as the pod spec pins it
let keyResource: string;
let initData: string;
const env = () => ({ CLOAK_SERVER: server.url, CLOAK_TOKEN: server.token });

before(async () => {
  if (skip) return;
  dir = tempDir('cloak-coco-image-key-');
  registry = await startRegistry();
  server = await startSimCloak(dir.path);
  device = readSimDevice(join(dir.path, 'sim'));
  await allowSim(server);

  const plain = OciLayout.create(join(dir.path, 'plain'));
  await buildImage(plain, 'v1', [await busyboxLayerTar([{ name: 'etc/motd', body: MOTD }])], {
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['cat /etc/motd'],
  });
  const conv = await runCloak(
    ['convert', `oci:${plain.dir}:v1`, `docker://${registry.host}/app:enc`, '--tls-verify=false', '--json'],
    { env: env() },
  );
  assert.equal(conv.code, 0, conv.stderr);
  const summary = JSON.parse(conv.stdout);
  assert.equal(summary.encryptedLayers, 1);
  keyResource = summary.keyResource;
  image = `${registry.host}/app@${summary.manifestDigest}`;

  // The owner's manifest: workload app may read the image's key and runs on the pinned guest image.
  assert.equal((await runCloak(['manifest', 'keygen', '--out', join(dir.path, 'alice.pem')])).code, 0);
  const manifestFile = join(dir.path, 'manifest.yaml');
  writeFileSync(
    manifestFile,
    stringify({
      version: 1,
      owners: {
        approvals: 1,
        users: [{ name: 'alice', publicKey: readFileSync(join(dir.path, 'alice.pem.pub'), 'utf8'), roles: ['owner'] }],
      },
      secrets: [],
      workloads: [
        {
          name: 'app',
          secrets: [],
          keys: [keyResource],
          referenceValues: { measurements: [GUEST_IMAGE.toString('hex')] },
        },
      ],
    }),
  );
  writeFileSync(
    join(dir.path, 'pod.yaml'),
    stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app' },
      spec: { containers: [{ name: 'app', image }] },
    }),
  );
  const gen = await runCloak([
    'generate',
    join(dir.path, 'pod.yaml'),
    '--manifest',
    manifestFile,
    '--tee',
    'sim',
    '--server',
    server.url,
    '--tls-verify=false',
    '-o',
    join(dir.path, 'out'),
  ]);
  assert.equal(gen.code, 0, gen.stderr);
  const set = await runCloak(
    ['manifest', 'set', manifestFile, '--user', 'alice', '--key', join(dir.path, 'alice.pem')],
    { env: env() },
  );
  assert.equal(set.code, 0, set.stderr);
  const [pod] = parseYamlStream(readFileSync(join(dir.path, 'out', 'pod.yaml'), 'utf8'));
  assert.equal(pod!.spec.containers[0].image, image);
  initData = decodeInitData(pod!.metadata.annotations[INITDATA_ANNOTATION]);
});
after(async () => {
  await server?.stop();
  if (server) rmSync(server.data, { recursive: true, force: true }); // startCloak's data dir (keys, admin token)
  await registry?.stop();
  dir?.remove();
});

/** The key-encryption key URI each layer of the pulled image names (its attestation-agent packet's kid). */
function layerKeyUris(manifest: { layers: Array<{ annotations?: Record<string, string> }> }): string[] {
  return manifest.layers.map((l) => {
    const packet = l.annotations?.[ANNOTATION_AA];
    assert.ok(packet, 'the layer carries an attestation-agent key-provider packet');
    return JSON.parse(Buffer.from(packet, 'base64').toString('utf8')).kid;
  });
}

test(
  'cloak convert → registry → cloak generate: the init-data names the KBS and admits the image; the guest gets the layer key and decrypts the pulled image',
  { skip },
  async () => {
    const data = (parseToml(initData) as { data: Record<string, string> }).data;
    const aa = parseToml(data['aa.toml']!) as any;
    const cdh = parseToml(data['cdh.toml']!) as any;
    assert.equal(aa.token_configs.kbs.url, server.url, 'the AA gets its token from the Cloak server');
    assert.deepEqual({ ...cdh.kbc }, { name: 'cc_kbc', url: server.url }, 'the CDH (and image-rs) fetch keys from it');
    const policy = JSON.parse(cdh.image.image_security_policy);
    assert.deepEqual(policy.default, [{ type: 'reject' }]);
    assert.deepEqual(policy.transports.docker[image], [{ type: 'insecureAcceptAnything' }], 'the image is admitted');
    assert.equal(policy.transports.docker[`${registry.host}/app:enc`], undefined, 'by its digest only');

    // image-rs pulls the manifest and reads the key URI from the layer annotations.
    const raw = skopeo('inspect', '--tls-verify=false', '--raw', `docker://${image}`);
    assert.equal(raw.status, 0, raw.stderr);
    const uris = layerKeyUris(JSON.parse(raw.stdout));
    assert.deepEqual(uris, [`kbs:///${keyResource}`]);

    // The AA attests with the generated init-data; the CDH fetches the key with the Bearer token.
    const agent = new CocoAttestationAgent(
      server.url,
      'sim',
      simGuestHardware(device, initData, { measurement: GUEST_IMAGE }),
      initData,
    );
    const token = await agent.attest();
    assert.equal((agent.token!.claims as any).submods.cpu0['ear.status'], 'affirming');
    const kek = await cdhGetResource(server.url, uris[0]!, token, agent.key);
    assert.equal(kek.length, 32);

    // The pulled image (still encrypted), its layer unwrapped with that key and decrypted, then unpacked.
    const pulled = join(dir.path, 'pulled');
    const copy = skopeo('copy', '--src-tls-verify=false', `docker://${image}`, `oci:${pulled}:v1`);
    assert.equal(copy.status, 0, copy.stderr);
    const out = OciLayout.create(join(dir.path, 'decrypted'));
    const res = await decryptImage(OciLayout.open(pulled), 'v1', out, 'v1', { keks: new Map([[keyResource, kek]]) });
    assert.equal(res.decrypted, 1);
    const layers = (l: OciLayout) => l.resolve('v1').manifest.layers.map((d) => d.digest);
    assert.deepEqual(layers(out), layers(OciLayout.open(join(dir.path, 'plain'))), 'the original layer, bit for bit');
    const bundle = join(dir.path, 'bundle');
    const unpack = spawnSync('umoci', ['unpack', '--image', `${out.dir}:v1`, bundle], { encoding: 'utf8' });
    assert.equal(unpack.status, 0, unpack.stderr);
    assert.equal(readFileSync(join(bundle, 'rootfs', 'etc', 'motd'), 'utf8'), MOTD);
  },
);

test('the same guest with init-data other than the generated one gets no key', { skip }, async () => {
  // The host starts the pod with its own agent policy in otherwise the same init-data: the hardware holds it, the manifest does not.
  const data = (parseToml(initData) as { data: Record<string, string> }).data;
  const other = initDataText({
    ...data,
    'policy.rego': 'package agent_policy\n\ndefault AllowRequestsFailingPolicy := true\n',
  });
  assert.notEqual(other, initData);
  const agent = new CocoAttestationAgent(
    server.url,
    'sim',
    simGuestHardware(device, other, { measurement: GUEST_IMAGE }),
    other,
  );
  const token = await agent.attest();
  assert.equal((agent.token!.claims as any).submods.cpu0['ear.status'], 'affirming', 'the evidence itself is good');
  await assert.rejects(
    cdhGetResource(server.url, `kbs:///${keyResource}`, token, agent.key),
    (e) =>
      e instanceof KbsError &&
      e.status === 403 &&
      /init-data digest [0-9a-f]{64} is not in its referenceValues\.initData/.test(e.body?.detail ?? ''),
  );
});
