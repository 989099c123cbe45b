import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, createHash, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startSimCloak, allowSim, runCloak, http, tempDir, type CloakServer, setResource } from './harness.ts';
import { AgentKbsClient, simAttester } from '../../src/agent/index.ts';
import { manifestDigest } from '../../src/manifest/index.ts';
import { parse as parseYaml } from 'yaml';

let server: CloakServer;
let dir: ReturnType<typeof tempDir>;
const admin = () => ({ authorization: `Bearer ${server.token}` });
const owners = Object.fromEntries(
  ['alice', 'bob', 'carol', 'mallory'].map((n) => [n, generateKeyPairSync('ec', { namedCurve: 'P-256' })]),
);
const pub = (n: string) => owners[n]!.publicKey.export({ type: 'spki', format: 'pem' }).toString();

const initData = (name: string) =>
  `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cloak.toml" = '''\nname = "${name}"\n'''\n`;
const digestHex = (text: string) => createHash('sha256').update(text).digest('hex');

function manifest(version: number, previous?: string, extra: Record<string, unknown> = {}) {
  return stringify({
    version,
    ...(previous ? { previous } : {}),
    owners: {
      approvals: 2,
      users: ['alice', 'bob', 'carol'].map((n) => ({ name: n, publicKey: pub(n), roles: ['owner'] })),
    },
    secrets: [
      { name: 'db-password', resource: 'default/secret/db-password' },
      { name: 'queue-token', resource: 'default/secret/queue-token', generate: { type: 'password', length: 32 } },
    ],
    workloads: [
      {
        name: 'web',
        tees: ['sim'],
        referenceValues: { initData: [digestHex(initData('web'))] },
        secrets: [{ name: 'db-password', file: 'db-password' }],
      },
      { name: 'worker', tees: ['sim'], secrets: [{ name: 'queue-token', env: 'QUEUE_TOKEN' }] },
    ],
    ...extra,
  });
}

function signed(text: string, who: string[], key: (n: string) => KeyObject = (n) => owners[n]!.privateKey) {
  const digest = manifestDigest(parseYaml(text));
  return who.map((user) => ({
    user,
    signature: sign('sha256', Buffer.from(`cloak-manifest-v1:${digest}`), key(user)).toString('base64'),
  }));
}

const put = (text: string, signatures: unknown[]) =>
  http('PUT', `${server.url}/api/v1/manifest`, { body: { manifest: text, signatures }, headers: admin() });

before(async () => {
  dir = tempDir('cloak-manifest-');
  server = await startSimCloak(dir.path);
  await allowSim(server);
  await setResource(server, 'default/secret/db-password', 'web-db-pw');
});
after(async () => {
  await server?.stop();
  dir?.remove();
});

test('manifest updates: unsigned, too few approvals, bad signature, fork, gap and replay are refused with their reasons', async () => {
  const v1 = manifest(1);
  const cases: Array<[string, string, unknown[], number, string]> = [
    ['unsigned', v1, [], 403, 'MANIFEST_UNSIGNED'],
    ['too few approvals', v1, signed(v1, ['alice']), 403, 'MANIFEST_APPROVALS'],
    ['same owner twice', v1, [...signed(v1, ['alice']), ...signed(v1, ['alice'])], 403, 'MANIFEST_APPROVALS'],
    [
      'signature by a non-owner key',
      v1,
      signed(v1, ['alice', 'bob'], (n) => (n === 'bob' ? owners.mallory!.privateKey : owners[n]!.privateKey)),
      403,
      'MANIFEST_SIGNATURE_INVALID',
    ],
    [
      'first manifest not version 1',
      manifest(2, 'sha256:00'),
      signed(manifest(2, 'sha256:00'), ['alice', 'bob']),
      409,
      'MANIFEST_VERSION_GAP',
    ],
  ];
  for (const [name, text, sigs, status, code] of cases) {
    const r = await put(text, sigs);
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.equal(r.json.code, code, name);
  }
  const ok = await put(v1, signed(v1, ['alice', 'bob']));
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json.generated, ['default/secret/queue-token']);
  const d1 = ok.json.digest;

  const fork = manifest(2, 'sha256:' + '1'.repeat(64));
  assert.equal((await put(fork, signed(fork, ['alice', 'carol']))).json.code, 'MANIFEST_FORK');
  const gap = manifest(3, d1);
  assert.equal((await put(gap, signed(gap, ['alice', 'carol']))).json.code, 'MANIFEST_VERSION_GAP');
  const v2 = manifest(2, d1);
  const r2 = await put(v2, signed(v2, ['bob', 'carol']));
  assert.equal(r2.status, 200, r2.text);
  assert.deepEqual(r2.json.generated, [], 'an existing generated secret is kept');
  const replay = await put(v1, signed(v1, ['alice', 'bob']));
  assert.equal(replay.status, 409);
  assert.equal(replay.json.code, 'MANIFEST_ROLLBACK');

  const got = await runCloak(['manifest', 'get', '--json', '--server', server.url, '--token', server.token]);
  assert.equal(got.code, 0, got.stderr);
  const doc = JSON.parse(got.stdout);
  assert.equal(doc.version, 2);
  assert.deepEqual(
    doc.history.map((h: any) => [h.version, h.digest]),
    [
      [1, d1],
      [2, r2.json.digest],
    ],
  );
  const audit = await http('GET', `${server.url}/api/v1/audit?kind=admin.manifest.set&outcome=refused`, {
    headers: admin(),
  });
  assert.ok(audit.json.length >= 7);
});

test('releases follow the manifest: each workload gets exactly its own secrets', async () => {
  const client = (name: string) =>
    new AgentKbsClient({
      url: server.url,
      initData: initData(name),
      attester: simAttester({ dir: join(dir.path, 'sim'), measurement: Buffer.alloc(48, 1), initData: initData(name) }),
    });
  const web = client('web');
  assert.equal((await web.resource('default/secret/db-password')).toString(), 'web-db-pw');
  await assert.rejects(
    web.resource('default/secret/queue-token'),
    (e: any) => e.code === 'KBS_POLICY_DENY' && /may not read default\/secret\/queue-token/.test(e.message),
  );
  const worker = client('worker');
  const token = (await worker.resource('default/secret/queue-token')).toString();
  assert.match(token, /^[A-Za-z0-9]{32}$/);
  await assert.rejects(worker.resource('default/secret/db-password'), (e: any) => e.code === 'KBS_POLICY_DENY');
  await assert.rejects(
    client('stranger').resource('default/secret/db-password'),
    (e: any) => e.code === 'KBS_POLICY_DENY' && /no workload "stranger"/.test(e.message),
  );
  const noInitData = new AgentKbsClient({
    url: server.url,
    attester: simAttester({ dir: join(dir.path, 'sim'), measurement: Buffer.alloc(48, 1) }),
  });
  await assert.rejects(noInitData.resource('default/secret/db-password'), (e: any) => e.code === 'KBS_POLICY_DENY');
});

test('cloak manifest schema prints the JSON Schema that set checks', async () => {
  const r = await runCloak(['manifest', 'schema']);
  assert.equal(r.code, 0, r.stderr);
  const schema = JSON.parse(r.stdout);
  assert.equal(schema.title, 'Cloak manifest');
  assert.deepEqual(schema.required, ['version', 'owners']);
  assert.deepEqual(Object.keys(schema.properties.workloads.items.properties), [
    'name',
    'images',
    'tees',
    'referenceValues',
    'policy',
    'secrets',
    'keys',
    'agentPolicy',
  ]);
});
