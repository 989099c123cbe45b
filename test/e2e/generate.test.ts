import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createHash } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify, parse as parseYaml } from 'yaml';
import { runCloak, startSimCloak, allowSim, tempDir } from './harness.ts';
import { validateK8s, parseYamlStream } from '../support/k8s-validate.ts';
import { decodeInitData } from '../../src/lib/index.ts';
import { INITDATA_ANNOTATION } from '../../src/k8s/index.ts';

const NGINX = `nginx@sha256:${'1'.repeat(64)}`;
const REDIS = `redis@sha256:${'2'.repeat(64)}`;
const SAMPLE = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: nginx
          image: ${NGINX}
          ports: [{ containerPort: 80 }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 80 }]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: cache }
spec:
  serviceName: cache
  selector: { matchLabels: { app: cache } }
  template:
    metadata: { labels: { app: cache } }
    spec:
      containers:
        - name: redis
          image: ${REDIS}
          args: ["--requirepass-file", "/run/cloak/secrets/redis-password"]
  volumeClaimTemplates:
    - metadata: { name: data }
      spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } } }
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: report }
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{ name: report, image: "${NGINX}" }]
`;

/** Offline image configs for the sample's images (the agent policy pins entrypoint, environment and user). */
function writeImageConfigs(dir: string): string {
  const configs = join(dir, 'image-configs');
  mkdirSync(configs);
  const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  writeFileSync(
    join(configs, `sha256-${'1'.repeat(64)}.json`),
    JSON.stringify({
      config: {
        Entrypoint: ['/docker-entrypoint.sh'],
        Cmd: ['nginx', '-g', 'daemon off;'],
        Env: [PATH, 'NGINX_VERSION=1.27.3'],
      },
    }),
  );
  writeFileSync(
    join(configs, `sha256-${'2'.repeat(64)}.json`),
    JSON.stringify({
      config: {
        Entrypoint: ['docker-entrypoint.sh'],
        Cmd: ['redis-server'],
        Env: [PATH],
        WorkingDir: '/data',
        Volumes: { '/data': {} },
      },
    }),
  );
  return configs;
}

function ownerManifest(pubPem: string) {
  return {
    version: 1,
    owners: { approvals: 1, users: [{ name: 'alice', publicKey: pubPem, roles: ['owner'] }] },
    secrets: [
      { name: 'web-tls-key', resource: 'default/secret/web-tls-key', generate: { type: 'random', bytes: 32 } },
      { name: 'redis-password', resource: 'default/secret/redis-password', generate: { type: 'password', length: 24 } },
    ],
    workloads: [
      { name: 'web', tees: ['sim'], secrets: [{ name: 'web-tls-key', file: 'tls.key' }] },
      { name: 'cache', tees: ['sim'], secrets: [{ name: 'redis-password', file: 'redis-password' }] },
    ],
  };
}

test('cloak generate: multi-document sample becomes confidential, validates against the Kubernetes schemas, and is idempotent', async () => {
  const dir = tempDir('cloak-gen-');
  try {
    const alice = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir.path, 'app.yaml'), SAMPLE);
    writeFileSync(
      join(dir.path, 'manifest.yaml'),
      stringify(ownerManifest(alice.publicKey.export({ type: 'spki', format: 'pem' }).toString())),
    );
    const configs = writeImageConfigs(dir.path);
    const generate = (input: string, out: string) =>
      runCloak([
        'generate',
        input,
        '--manifest',
        join(dir.path, 'manifest.yaml'),
        '--server',
        'http://cloak:8080',
        '--image-configs',
        configs,
        '-o',
        out,
        '--json',
      ]);
    const r = await generate(join(dir.path, 'app.yaml'), join(dir.path, 'out'));
    assert.equal(r.code, 0, r.stderr);
    const objects = parseYamlStream(readFileSync(join(dir.path, 'out', 'app.yaml'), 'utf8'));
    assert.deepEqual(
      objects.map((o) => o.kind),
      ['Deployment', 'Service', 'StatefulSet', 'CronJob'],
    );
    assert.deepEqual(validateK8s(objects), []);
    const svc = objects[1]!;
    assert.deepEqual(svc, parseYamlStream(SAMPLE)[1], 'other kinds pass through untouched');
    const manifest = parseYaml(readFileSync(join(dir.path, 'manifest.yaml'), 'utf8'));
    for (const [i, name] of [
      [0, 'web'],
      [2, 'cache'],
      [3, 'report'],
    ] as const) {
      const o = objects[i]!;
      const tpl = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec.template;
      assert.equal(tpl.spec.runtimeClassName, 'kata-remote', 'the default platform: CoCo peer pods on Azure');
      assert.equal(tpl.spec.initContainers[0].name, 'cloak-agent');
      assert.deepEqual(tpl.spec.volumes.find((v: any) => v.name === 'cloak-secrets').emptyDir.medium, 'Memory');
      assert.ok(
        tpl.spec.containers.every((c: any) =>
          c.volumeMounts.some((m: any) => m.mountPath === '/run/cloak/secrets' && m.readOnly),
        ),
      );
      const initData = decodeInitData(tpl.metadata.annotations[INITDATA_ANNOTATION]);
      assert.match(initData, new RegExp(`name = "${name}"`));
      const w = manifest.workloads.find((x: any) => x.name === name);
      assert.deepEqual(w.referenceValues.initData, [createHash('sha256').update(initData).digest('hex')]);
      assert.deepEqual(
        w.tees,
        ['az-snp-vtpm', 'az-tdx-vtpm'],
        'the manifest allows the evidence the platform produces',
      );
    }
    assert.match(decodeInitData(objects[2]!.spec.template.metadata.annotations[INITDATA_ANNOTATION]), /redis-password/);

    const again = await generate(join(dir.path, 'out', 'app.yaml'), join(dir.path, 'out2'));
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).changes, []);
    assert.equal(
      readFileSync(join(dir.path, 'out2', 'app.yaml'), 'utf8'),
      readFileSync(join(dir.path, 'out', 'app.yaml'), 'utf8'),
    );

    const unpinned = await runCloak(['generate', '-'], { input: SAMPLE.replace(NGINX, 'nginx:1.27') });
    assert.equal(unpinned.code, 1);
    assert.match(unpinned.stderr, /nginx:1\.27/);

    // A manifest the model does not accept is refused before anything is written.
    const bad = ownerManifest('pem') as any;
    bad.workloads[0].agentPolicy = { logs: 'yes' };
    writeFileSync(join(dir.path, 'bad.yaml'), stringify(bad));
    const refused = await runCloak([
      'generate',
      join(dir.path, 'app.yaml'),
      '--manifest',
      join(dir.path, 'bad.yaml'),
      '--image-configs',
      configs,
      '-o',
      join(dir.path, 'out3'),
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /bad\.yaml: workloads\[0\]\.agentPolicy\.logs must be true or false/);
    assert.equal(existsSync(join(dir.path, 'out3')), false);
    assert.equal(readFileSync(join(dir.path, 'bad.yaml'), 'utf8'), stringify(bad));
  } finally {
    dir.remove();
  }
});

test('a workload from a generated manifest gets its secrets through its generated init-data; another workload is refused', async () => {
  const dir = tempDir('cloak-gen-e2e-');
  let server;
  try {
    server = await startSimCloak(dir.path);
    const env = { CLOAK_SERVER: server.url, CLOAK_TOKEN: server.token };
    await allowSim(server);
    assert.equal((await runCloak(['manifest', 'keygen', '--out', join(dir.path, 'alice.pem')])).code, 0);
    writeFileSync(
      join(dir.path, 'manifest.yaml'),
      stringify(ownerManifest(readFileSync(join(dir.path, 'alice.pem.pub'), 'utf8'))),
    );
    writeFileSync(join(dir.path, 'app.yaml'), SAMPLE);
    // The agent runs on this machine with the simulated TEE: --tee sim keeps the manifest allowing it.
    assert.equal(
      (
        await runCloak([
          'generate',
          join(dir.path, 'app.yaml'),
          '--manifest',
          join(dir.path, 'manifest.yaml'),
          '--server',
          server.url,
          '--tee',
          'sim',
          '--image-configs',
          writeImageConfigs(dir.path),
          '-o',
          join(dir.path, 'out'),
        ])
      ).code,
      0,
    );
    const set = await runCloak(
      [
        'manifest',
        'set',
        join(dir.path, 'manifest.yaml'),
        '--user',
        'alice',
        '--key',
        join(dir.path, 'alice.pem'),
        '--json',
      ],
      { env },
    );
    assert.equal(set.code, 0, set.stderr);
    const objects = parseYamlStream(readFileSync(join(dir.path, 'out', 'app.yaml'), 'utf8'));
    const annotation = (i: number) => objects[i]!.spec.template.metadata.annotations[INITDATA_ANNOTATION];
    const agent = (initData: string, out: string) =>
      runCloak(['agent', 'init', '--tee', 'sim', '--sim-dir', join(dir.path, 'sim'), '--out', out], {
        env: { ...env, CLOAK_INIT_DATA: initData },
      });

    const cache = await agent(annotation(2), join(dir.path, 'cache-secrets'));
    assert.equal(cache.code, 0, cache.stderr);
    assert.match(readFileSync(join(dir.path, 'cache-secrets', 'redis-password'), 'utf8'), /^[A-Za-z0-9]{24}$/);
    // web's init-data edited to ask for cache's secret: its digest no longer matches the manifest.
    const forged = decodeInitData(annotation(0)).replace('default/secret/web-tls-key', 'default/secret/redis-password');
    const refused = await agent(forged, join(dir.path, 'web-secrets'));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /KBS_POLICY_DENY/);
    assert.ok(!existsSync(join(dir.path, 'web-secrets')) || readdirSync(join(dir.path, 'web-secrets')).length === 0);
    const web = await agent(annotation(0), join(dir.path, 'web-secrets'));
    assert.equal(web.code, 0, web.stderr);
    assert.equal(readFileSync(join(dir.path, 'web-secrets', 'tls.key')).length, 32);
  } finally {
    await server?.stop();
    dir.remove();
  }
});
