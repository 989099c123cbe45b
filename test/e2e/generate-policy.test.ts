// cloak generate reads image configs for the Kata agent policy from the registry it pins
// images through (Debian's docker-registry on 127.0.0.1), or offline from --image-configs;
// both give the same policy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { OciLayout, buildImage } from '../../src/oci/index.ts';
import { decodeInitData } from '../../src/lib/index.ts';
import { INITDATA_ANNOTATION } from '../../src/k8s/index.ts';
import { runCloak, tempDir } from './harness.ts';
import { parseYamlStream } from '../support/k8s-validate.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';
import { startRegistry, registryAvailable, skopeo } from '../support/registry.ts';

const has = (bin: string) => spawnSync(bin, ['--version']).status === 0;
const skip = registryAvailable() && has('skopeo') ? false : 'needs docker-registry and skopeo';

let registry: Awaited<ReturnType<typeof startRegistry>>;
let dir: ReturnType<typeof tempDir>;
const CONFIG = {
  Entrypoint: ['/bin/sh', '-c'],
  Cmd: ['exec httpd -f -p 8080'],
  Env: ['PATH=/bin', 'APP_MODE=prod'],
  User: 'app',
  WorkingDir: '/www',
};

before(async () => {
  if (skip) return;
  dir = tempDir('cloak-gen-policy-');
  registry = await startRegistry();
  const layout = OciLayout.create(join(dir.path, 'img'));
  await buildImage(layout, 'v1', [await busyboxLayerTar()], CONFIG);
  const push = skopeo('copy', '--dest-tls-verify=false', `oci:${layout.dir}:v1`, `docker://${registry.host}/web:v1`);
  assert.equal(push.status, 0, push.stderr);
});
let registryStopped = false;
after(async () => {
  if (!registryStopped) await registry?.stop();
  dir?.remove();
});

const app = (image: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata: { name: web }\nspec:\n  containers:\n    - name: web\n      image: ${image}\n`;

function podPolicy(file: string): { text: string; data: any; image: string } {
  const pod = parseYamlStream(readFileSync(file, 'utf8'))[0]!;
  const text = (parseToml(decodeInitData(pod.metadata.annotations[INITDATA_ANNOTATION])) as any).data[
    'policy.rego'
  ] as string;
  return {
    text,
    data: JSON.parse(text.slice(text.indexOf('pod := ') + 'pod := '.length)),
    image: pod.spec.containers[0].image,
  };
}

test(
  'generate pins the image and reads its config (and its user "app" from the layers\' /etc/passwd) from the registry; offline configs give the same policy',
  { skip },
  async () => {
    writeFileSync(join(dir.path, 'app.yaml'), app(`${registry.host}/web:v1`));
    const online = await runCloak([
      'generate',
      join(dir.path, 'app.yaml'),
      '--tls-verify=false',
      '-o',
      join(dir.path, 'online'),
    ]);
    assert.equal(online.code, 0, online.stderr);
    const a = podPolicy(join(dir.path, 'online', 'app.yaml'));
    assert.match(a.image, /^127\.0\.0\.1:\d+\/web@sha256:[0-9a-f]{64}$/);
    const web = a.data.containers.find((c: any) => c.name === 'web');
    assert.deepEqual(
      [web.args, web.env, web.uid, web.gid, web.cwd],
      [['/bin/sh', '-c', 'exec httpd -f -p 8080'], ['PATH=/bin', 'APP_MODE=prod'], 1000, 1000, '/www'],
    );
    assert.ok(web.image.names.includes(a.image));

    // Air-gapped: the config blob saved beside the YAML, the registry gone.
    const digest = a.image.split('@')[1]!;
    const configs = join(dir.path, 'configs');
    mkdirSync(configs);
    const inspect = skopeo('inspect', '--tls-verify=false', '--config', `docker://${a.image}`);
    assert.equal(inspect.status, 0, inspect.stderr);
    writeFileSync(join(configs, `sha256-${digest.slice(7)}.json`), inspect.stdout);
    // The user name needs the image's /etc/passwd (and /etc/group for its groups) beside the config.
    const noUsers = await runCloak(['generate', '-', '--image-configs', configs, '--offline'], { input: app(a.image) });
    assert.equal(noUsers.code, 1);
    assert.match(noUsers.stderr, /K8S_POLICY_USER.*"app".*runAsUser/);
    writeFileSync(
      join(configs, `sha256-${digest.slice(7)}.passwd`),
      'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/:/bin/sh\n',
    );
    writeFileSync(join(configs, `sha256-${digest.slice(7)}.group`), 'root:x:0:\napp:x:1000:\n');
    await registry.stop();
    registryStopped = true;
    writeFileSync(join(dir.path, 'pinned.yaml'), app(a.image));
    const offline = await runCloak([
      'generate',
      join(dir.path, 'pinned.yaml'),
      '--image-configs',
      configs,
      '--offline',
      '-o',
      join(dir.path, 'offline'),
    ]);
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(podPolicy(join(dir.path, 'offline', 'pinned.yaml')).text, a.text);

    // Without any source the policy cannot be written, and generate says how to fix it.
    const none = await runCloak([
      'generate',
      join(dir.path, 'pinned.yaml'),
      '--image-configs',
      join(dir.path, 'empty'),
      '--offline',
    ]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /K8S_IMAGE_CONFIG.*--image-configs/);
  },
);

test('an opt-in annotation is printed by generate, recorded in the manifest and changes the init-data digest', async () => {
  const d = tempDir('cloak-gen-optin-');
  try {
    const digest = `sha256:${'e'.repeat(64)}`;
    mkdirSync(join(d.path, 'configs'));
    writeFileSync(
      join(d.path, 'configs', `sha256-${'e'.repeat(64)}.json`),
      JSON.stringify({ config: { Entrypoint: ['/app'], User: '1000:1000' } }),
    );
    const pod = (annotations: string) =>
      `apiVersion: v1\nkind: Pod\nmetadata: { name: web${annotations} }\nspec:\n  containers:\n    - { name: web, image: "registry.example/web@${digest}" }\n`;
    const gen = (yaml: string, out: string) =>
      runCloak(['generate', '-', '--image-configs', join(d.path, 'configs'), '--offline', '-o', join(d.path, out)], {
        input: yaml,
      });
    const plain = await gen(pod(''), 'plain');
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.stderr, /opt-in/);
    const opted = await gen(pod(', annotations: { policy.cloak.dev/allow-logs: "true" }'), 'opted');
    assert.equal(opted.code, 0, opted.stderr);
    assert.match(opted.stderr, /note: Pod\/web: agent policy opt-in: the host may read container output \(logs\)/);
    const manifest = (out: string) =>
      parseYamlStream(readFileSync(join(d.path, out, 'cloak-manifest.yaml'), 'utf8'))[0]!.workloads[0];
    assert.deepEqual(manifest('opted').agentPolicy, { logs: true });
    assert.notDeepEqual(manifest('opted').referenceValues.initData, manifest('plain').referenceValues.initData);
  } finally {
    d.remove();
  }
});
