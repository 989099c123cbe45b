// The cloak-agent container's list of secrets is in its arguments, and the
// sealed secrets in the app's env values: the generated agent policy pins
// both, so the host can neither add, drop nor redirect a secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { parse as parseToml } from 'smol-toml';
import { decodeInitData, isCloakError } from '../lib/index.ts';
import { parseSealedSecret, type ManifestDocument } from '../manifest/index.ts';
import { generate, INITDATA_ANNOTATION, type ImageConfigSource, type PodPolicy } from './index.ts';
import { allowed, evaluateBatch, findRegoEngine, replay, type PolicyCase } from './policy/testing/rego.ts';
import { createContainerRequest } from './policy/testing/requests.ts';

const { engine, reason } = findRegoEngine();
const APP = `registry.example/shop/app@sha256:${'a'.repeat(64)}`;
const configs: ImageConfigSource = async () => ({
  Entrypoint: ['/app'],
  Env: ['PATH=/usr/bin:/bin'],
  User: '1000:1000',
});
const sealing = { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, kid: 'default/sealing/key' };

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'shop', namespace: 'prod' },
  spec: { containers: [{ name: 'app', image: APP }] },
});
function manifest(deliveries: Array<Record<string, unknown>>): ManifestDocument {
  return {
    version: 1,
    owners: { users: [] },
    secrets: [
      { name: 'tls', resource: 'default/secret/shop-tls' },
      { name: 'db', resource: 'default/secret/db' },
      { name: 'api', resource: 'default/secret/api-key' },
    ],
    workloads: [{ name: 'shop', secrets: deliveries as any }],
  };
}

async function generated(m: ManifestDocument, withSealing = true, docs: any[] = [pod()]) {
  const r = await generate(docs, {
    server: 'https://cloak.example:8080',
    imageConfigs: configs,
    manifest: m,
    ...(withSealing ? { sealing } : {}),
  });
  const spec = r.docs[0]!.spec;
  const initData = decodeInitData(r.docs[0]!.metadata.annotations[INITDATA_ANNOTATION]);
  const policy = (parseToml(initData) as any).data['policy.rego'] as string;
  const data: PodPolicy = JSON.parse(policy.slice(policy.indexOf('pod := ') + 'pod := '.length));
  return { r, spec, initData, policy, data };
}

const MIXED = [
  { name: 'tls', file: 'tls/key.pem' },
  { name: 'db', env: 'DB_PASSWORD' },
  { name: 'api', env: 'API_KEY', sealed: true },
];

test('the agent container lists its secrets in its arguments, and the policy pins them as they are', async () => {
  const { spec, data, initData, r } = await generated(manifest(MIXED));
  const agent = spec.initContainers[0];
  assert.equal(agent.name, 'cloak-agent');
  assert.deepEqual(agent.args, [
    'agent',
    'init',
    '--out',
    '/run/cloak/secrets',
    '--cdh',
    'http://127.0.0.1:8006',
    '--secret-file',
    'tls/key.pem=default/secret/shop-tls',
    '--secret-env',
    'DB_PASSWORD=default/secret/db',
  ]);
  assert.equal(
    agent.env,
    undefined,
    'no init-data in the environment: the guest attests, the list is in the arguments',
  );
  const pinned = data.containers.find((c) => c.name === 'cloak-agent')!;
  assert.deepEqual(pinned.args, ['/usr/local/bin/node', '/opt/cloak/dist/cloak.js', ...agent.args]);
  assert.deepEqual(
    pinned.env_patterns.filter((p) => !/NODE_VERSION|YARN_VERSION/.test(p)),
    [],
    'no agent variable is matched by pattern',
  );
  // The sealed variable is a literal env value of the app, pinned exactly; it is not the agent's to fetch.
  const apiKey = spec.containers[0].env.find((e: any) => e.name === 'API_KEY').value;
  assert.equal(parseSealedSecret(apiKey).resource, 'default/secret/api-key');
  assert.ok(data.containers.find((c) => c.name === 'app')!.env.includes(`API_KEY=${apiKey}`));
  assert.doesNotMatch(initData, /api-key/);
  assert.deepEqual(
    r.manifest.workloads![0]!.keys,
    ['default/sealing/key'],
    'the workload may read the public sealing key',
  );
});

test(
  'the host can neither add, drop nor redirect a secret of the agent, nor swap a sealed value',
  { skip: engine ? false : reason },
  async () => {
    const { policy, data } = await generated(manifest(MIXED));
    const requests = data.containers.map((_, i) =>
      createContainerRequest(data, i, { podName: 'shop', namespace: 'prod' }),
    );
    const { verdicts } = await replay(
      engine!,
      policy,
      requests.map((input) => ({ kind: 'CreateContainerRequest', input })),
    );
    assert.deepEqual(verdicts, [true, true, true]);
    const pstate = {
      sandbox_name: 'shop',
      namespace: 'prod',
      network_namespace: requests[0].OCI.Linux.Namespaces.at(-1).Path,
      containers: Object.fromEntries(requests.map((r: any, i) => [r.container_id, i])),
    };
    const [, agent, app] = requests;
    const other = parseSealedSecret(app.OCI.Process.Env.find((e: string) => e.startsWith('API_KEY=')).slice(8));
    const change = (base: any, f: (p: any) => void) => {
      const r = structuredClone(base);
      f(r.OCI.Process);
      return r;
    };
    const cases: Array<[string, PolicyCase]> = [
      [
        'agent: one more secret',
        {
          kind: 'CreateContainerRequest',
          input: change(agent, (p) => p.Args.push('--secret-file', 'x=default/secret/other')),
        },
      ],
      [
        'agent: a secret dropped',
        {
          kind: 'CreateContainerRequest',
          input: change(agent, (p) => {
            p.Args = p.Args.slice(0, -2);
          }),
        },
      ],
      [
        'agent: a secret to another file',
        {
          kind: 'CreateContainerRequest',
          input: change(agent, (p) => {
            p.Args[p.Args.indexOf('tls/key.pem=default/secret/shop-tls')] = '../x=default/secret/shop-tls';
          }),
        },
      ],
      [
        'agent: another data hub',
        {
          kind: 'CreateContainerRequest',
          input: change(agent, (p) => {
            p.Args[p.Args.indexOf('http://127.0.0.1:8006')] = 'http://127.0.0.1:9999';
          }),
        },
      ],
      [
        'agent: init-data smuggled in',
        { kind: 'CreateContainerRequest', input: change(agent, (p) => p.Env.push('CLOAK_INIT_DATA=dmVyc2lvbg==')) },
      ],
      [
        'app: another sealed value',
        {
          kind: 'CreateContainerRequest',
          input: change(app, (p) => {
            p.Env = p.Env.map((e: string) =>
              e.startsWith('API_KEY=') ? `API_KEY=sealed.x.y.${other.signature.toString('base64url')}` : e,
            );
          }),
        },
      ],
      [
        'app: the sealed value dropped',
        {
          kind: 'CreateContainerRequest',
          input: change(app, (p) => {
            p.Env = p.Env.filter((e: string) => !e.startsWith('API_KEY='));
          }),
        },
      ],
    ];
    const values = await evaluateBatch(
      engine!,
      policy,
      pstate,
      cases.map(([, c]) => c),
    );
    assert.deepEqual(
      Object.fromEntries(cases.map(([n], i) => [n, allowed(values[i])])),
      Object.fromEntries(cases.map(([n]) => [n, false])),
    );
  },
);

test('sealed variables alone: no init container, no secrets volume; generate stays idempotent', async () => {
  const m = manifest([{ name: 'api', env: 'API_KEY', sealed: true }]);
  const first = await generated(m);
  assert.equal(first.spec.initContainers, undefined);
  assert.equal(first.spec.volumes, undefined);
  assert.equal(first.spec.containers[0].volumeMounts, undefined);
  assert.deepEqual(
    first.data.containers.map((c) => c.name),
    ['', 'app'],
  );
  const again = await generate(first.r.docs, {
    server: 'https://cloak.example:8080',
    imageConfigs: configs,
    manifest: first.r.manifest,
    sealing,
  });
  assert.deepEqual(again.changes, []);
  assert.deepEqual(again.docs, first.r.docs);
  // Without the key, an existing sealed value for the same resource is kept; a new one cannot be made.
  assert.deepEqual(
    (
      await generate(first.r.docs, {
        imageConfigs: configs,
        manifest: first.r.manifest,
        server: 'https://cloak.example:8080',
      })
    ).changes,
    [],
  );
  await assert.rejects(generate([pod()], { imageConfigs: configs, manifest: m }), (e) =>
    isCloakError(e, 'K8S_SEALING_KEY'),
  );
  await assert.rejects(
    generate([pod()], {
      imageConfigs: configs,
      manifest: manifest([{ name: 'api', file: 'x', sealed: true }]),
      sealing,
    }),
    (e) => isCloakError(e, 'K8S_MANIFEST_SECRET'),
  );
});
