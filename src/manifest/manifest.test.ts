import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { stringify } from 'yaml';
import { readManifest, checkManifestDocument } from './read.ts';
import { ManifestDocument } from './schema.ts';
import { manifestDigest } from './digest.ts';

const pem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ALICE = pem();
const BOB = pem();
const base = () => ({
  version: 1,
  owners: {
    approvals: 1,
    users: [
      { name: 'alice', publicKey: ALICE },
      { name: 'bob', publicKey: BOB, roles: ['owner', 'auditor'] },
    ],
  },
  secrets: [
    { name: 'db', resource: 'default/secret/db' },
    { name: 'pw', resource: 'default/secret/pw', generate: { type: 'password' } },
  ],
  workloads: [
    {
      name: 'web',
      images: ['sha256:' + 'a'.repeat(64)],
      tees: ['SNP'],
      referenceValues: { measurements: ['ab'], initData: ['cd'] },
      policy: 'status == "affirming"',
      secrets: [
        { name: 'db', file: 'db' },
        { name: 'pw', env: 'PW' },
      ],
      keys: ['default/key/Web'],
      agentPolicy: { logs: true, exec: [{ container: 'app', command: ['cat', '/tmp/ready'] }] },
    },
  ],
});

test('a manifest reads into the model: defaults applied, lists normalised, the document and its digest kept', () => {
  const doc = base();
  const m = readManifest(stringify(doc));
  assert.equal(m.version, 1);
  assert.equal(m.owners.approvals, 1);
  assert.deepEqual(
    m.owners.users.map((u) => [u.name, u.roles, u.publicKey.asymmetricKeyType]),
    [
      ['alice', ['owner'], 'ec'],
      ['bob', ['owner', 'auditor'], 'ec'],
    ],
  );
  assert.deepEqual(m.secrets[1], {
    name: 'pw',
    resource: 'default/secret/pw',
    generate: { type: 'password', length: 24 },
  });
  const w = m.workloads[0]!;
  assert.deepEqual(
    [w.tees, w.measurements, w.initData, w.keys, w.policy],
    [['snp'], ['ab'], ['cd'], ['default/key/web'], 'status == "affirming"'],
  );
  assert.deepEqual(w.secrets, [
    { name: 'db', file: 'db', env: undefined },
    { name: 'pw', file: undefined, env: 'PW' },
  ]);
  assert.deepEqual(w.agentPolicy, doc.workloads[0]!.agentPolicy);
  assert.equal(m.digest, manifestDigest(doc));
  assert.deepEqual(m.document, doc);
});

type Doc = ReturnType<typeof base> & Record<string, any>;
test('a manifest the model does not accept is refused with MANIFEST_INVALID and where it is wrong', () => {
  const table: Array<[string, (d: Doc) => unknown, RegExp]> = [
    ['not a mapping', () => ['x'], /must be a YAML mapping/],
    [
      'no version',
      (d) => {
        delete (d as any).version;
      },
      /version must be a whole number/,
    ],
    [
      'version 0',
      (d) => {
        d.version = 0;
      },
      /version must be a whole number/,
    ],
    [
      'version 2 without previous',
      (d) => {
        d.version = 2;
      },
      /needs "previous"/,
    ],
    [
      'no owners',
      (d) => {
        delete (d as any).owners;
      },
      /owners must be the owners/,
    ],
    [
      'owner name upper-case',
      (d) => {
        d.owners.users[0]!.name = 'Alice';
      },
      /owners\.users\[0\]\.name must be a lower-case name/,
    ],
    [
      'owner key not PEM',
      (d) => {
        d.owners.users[0]!.publicKey = 'nope';
      },
      /no valid PEM publicKey/,
    ],
    [
      'owner key DH',
      (d) => {
        d.owners.users[0]!.publicKey = generateKeyPairSync('x25519')
          .publicKey.export({ type: 'spki', format: 'pem' })
          .toString();
      },
      /key type x25519 is not supported/,
    ],
    [
      'duplicate owners',
      (d) => {
        d.owners.users[1]!.name = 'alice';
      },
      /owners\.users has duplicate names/,
    ],
    [
      'approvals above owners',
      (d) => {
        d.owners.approvals = 3;
      },
      /between 1 and the number of owners \(2\)/,
    ],
    [
      'approvals 0',
      (d) => {
        d.owners.approvals = 0;
      },
      /owners\.approvals must be how many/,
    ],
    [
      'secret resource short',
      (d) => {
        d.secrets[0]!.resource = 'default/db';
      },
      /secrets\[0\]\.resource must be a KBS resource path/,
    ],
    [
      'secret resource ..',
      (d) => {
        d.secrets[0]!.resource = 'default/../db';
      },
      /secrets\[0\]\.resource must be repo\/type\/tag/,
    ],
    [
      'secret generator',
      (d) => {
        (d.secrets[1] as any).generate = { type: 'random', bytes: 8 };
      },
      /secrets\[1\]\.generate must be \{type: random/,
    ],
    [
      'duplicate secrets',
      (d) => {
        d.secrets[1]!.name = 'db';
      },
      /secrets has duplicate names/,
    ],
    [
      'workload name',
      (d) => {
        d.workloads[0]!.name = '-web';
      },
      /workloads\[0\]\.name must be a lower-case name/,
    ],
    [
      'image not a digest',
      (d) => {
        d.workloads[0]!.images = ['nginx:latest'];
      },
      /workloads\[0\]\.images\[0\] must be/,
    ],
    [
      'measurement upper-case',
      (d) => {
        d.workloads[0]!.referenceValues.measurements = ['AB'];
      },
      /measurements\[0\] must be lower-case hex/,
    ],
    [
      'unknown secret',
      (d) => {
        d.workloads[0]!.secrets[0]!.name = 'nope';
      },
      /names unknown secret "nope"/,
    ],
    [
      'file and env',
      (d) => {
        (d.workloads[0]!.secrets[0] as any).env = 'DB';
      },
      /needs exactly one of file or env/,
    ],
    [
      'key not a path',
      (d) => {
        d.workloads[0]!.keys = ['default/key'];
      },
      /keys\[0\] must be a KBS resource path/,
    ],
    [
      'agent policy flag',
      (d) => {
        (d.workloads[0]!.agentPolicy as any).logs = 'yes';
      },
      /agentPolicy\.logs must be true or false/,
    ],
    [
      'policy not text',
      (d) => {
        (d.workloads[0] as any).policy = 7;
      },
      /workloads\[0\]\.policy must be a resource policy/,
    ],
    [
      'duplicate workloads',
      (d) => {
        d.workloads.push(structuredClone(d.workloads[0]!));
      },
      /workloads has duplicate names/,
    ],
  ];
  for (const [name, mutate, message] of table) {
    const d = base() as Doc;
    const replaced = mutate(d);
    assert.throws(
      () => readManifest(stringify(replaced ?? d)),
      (e: any) => e.code === 'MANIFEST_INVALID' && message.test(e.message),
      `${name}`,
    );
  }
  assert.throws(
    () => readManifest('version: [1'),
    (e: any) => e.code === 'MANIFEST_INVALID' && /not valid YAML/.test(e.message),
  );
});

test('the schema is the JSON Schema the CLI and the portal show, and checks a document generate starts from', () => {
  const schema = JSON.parse(JSON.stringify(ManifestDocument));
  assert.equal(schema.type, 'object');
  assert.deepEqual(schema.required, ['version', 'owners']);
  assert.ok(schema.properties.workloads.items.properties.agentPolicy);
  const fresh = { version: 1, owners: { approvals: 1, users: [] }, secrets: [], workloads: [] };
  assert.equal(checkManifestDocument(fresh), fresh);
  assert.throws(
    () => checkManifestDocument({ ...fresh, workloads: [{ name: 'Web' }] }, 'manifest.yaml'),
    /manifest\.yaml: workloads\[0\]\.name must be/,
  );
});
