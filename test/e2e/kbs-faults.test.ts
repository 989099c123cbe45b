import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCloak, http, sendHeadersOnly, type CloakServer } from './harness.ts';
import { KbsClient, teeKey, bindingDigest, attestPayload } from './kbs-client.ts';

const DEV_POLICY = 'version: 1\nallowInsecure: [sample]\ntrustVector:\n  hardware: "2"\n';
let server: CloakServer;
const admin = () => ({ authorization: `Bearer ${server.token}` });

before(async () => {
  server = await startCloak();
  await http('PUT', `${server.url}/api/v1/policies/attestation`, { body: { text: DEV_POLICY }, headers: admin() });
  await http('PUT', `${server.url}/api/v1/resources/default/secret/one`, {
    body: { value: Buffer.from('1').toString('base64') },
    headers: admin(),
  });
});
after(async () => {
  await server?.stop();
});

function isProblem(body: any, code: string) {
  assert.match(body.type, /^https:\/\/github.com\/confidential-containers\/kbs\/errors\/\w+$/);
  assert.equal(typeof body.detail, 'string');
  assert.equal(body.code, code, JSON.stringify(body));
}

async function sampleAttest(client: KbsClient, nonce: string, sessionNonce = nonce) {
  const key = teeKey('EC');
  const evidence = { svn: '1', report_data: bindingDigest(nonce, key.jwk).toString('base64') };
  return client.attest(attestPayload(nonce === sessionNonce ? nonce : nonce, key, evidence));
}

/** Refusals are counted per client address and code (GET /api/v1/audit/counts), not chained one by one. */
async function auditHas(kind: string, code: string) {
  const res = await http('GET', `${server.url}/api/v1/audit/counts?kind=${kind}&source=127.0.0.1&limit=1000`, {
    headers: admin(),
  });
  return res.json.some((r: any) => r.outcome !== 'ok' && r.code === code && r.count > 0);
}

test('bad requests get the right status, an RFC 7807 body and an audit record', async () => {
  const cases: Array<{
    name: string;
    run: () => Promise<{ status: number; body: any }>;
    status: number;
    code: string;
    audit?: string;
  }> = [
    {
      name: 'malformed JSON',
      run: async () => {
        const r = await http('POST', `${server.url}/kbs/v0/auth`, { raw: '{"version":' });
        return { status: r.status, body: r.json };
      },
      status: 400,
      code: 'REQUEST_INVALID',
    },
    {
      name: 'wrong protocol version',
      run: () => new KbsClient(server.url).auth('sample', '0.1.0'),
      status: 400,
      code: 'KBS_PROTOCOL_VERSION',
      audit: 'kbs.auth',
    },
    {
      name: 'unknown TEE',
      run: () => new KbsClient(server.url).auth('quantum'),
      status: 400,
      code: 'KBS_UNKNOWN_TEE',
      audit: 'kbs.auth',
    },
    {
      name: 'oversized body',
      run: () => sendHeadersOnly('POST', `${server.url}/kbs/v0/attest`, 2 * 1024 * 1024),
      status: 413,
      code: 'REQUEST_TOO_LARGE',
    },
    {
      name: 'attest without a session',
      run: () => sampleAttest(new KbsClient(server.url), 'AAAA'),
      status: 401,
      code: 'KBS_SESSION_UNKNOWN',
      audit: 'kbs.attest',
    },
    {
      name: 'wrong nonce',
      run: async () => {
        const c = new KbsClient(server.url);
        await c.auth('sample');
        return sampleAttest(c, Buffer.alloc(32, 1).toString('base64'));
      },
      status: 401,
      code: 'KBS_NONCE_MISMATCH',
      audit: 'kbs.attest',
    },
    {
      name: 'nonce from another session',
      run: async () => {
        const a = new KbsClient(server.url);
        const { nonce } = await a.auth('sample');
        const b = new KbsClient(server.url);
        await b.auth('sample');
        return sampleAttest(b, nonce!);
      },
      status: 401,
      code: 'KBS_NONCE_MISMATCH',
      audit: 'kbs.attest',
    },
    {
      name: 'reused nonce after a refusal',
      run: async () => {
        const c = new KbsClient(server.url);
        const { nonce } = await c.auth('sample');
        await sampleAttest(c, 'bad');
        return sampleAttest(c, nonce!);
      },
      status: 401,
      code: 'KBS_SESSION_UNKNOWN',
      audit: 'kbs.attest',
    },
    {
      name: 'report-data not binding the key',
      run: async () => {
        const c = new KbsClient(server.url);
        const { nonce } = await c.auth('sample');
        const key = teeKey('EC');
        return c.attest(attestPayload(nonce!, key, { svn: '1', report_data: Buffer.alloc(48).toString('base64') }));
      },
      status: 401,
      code: 'KBS_REPORT_DATA_MISMATCH',
      audit: 'kbs.attest',
    },
    {
      name: 'resource before attestation',
      run: async () => {
        const c = new KbsClient(server.url);
        await c.auth('sample');
        return c.resource('default/secret/one', 'cookie');
      },
      status: 401,
      code: 'KBS_NOT_ATTESTED',
      audit: 'kbs.release',
    },
    {
      name: 'resource with no credentials',
      run: () => new KbsClient(server.url).resource('default/secret/one', 'cookie'),
      status: 401,
      code: 'KBS_UNAUTHENTICATED',
      audit: 'kbs.release',
    },
    {
      name: 'forged bearer token',
      run: async () => {
        const c = new KbsClient(server.url);
        c.token = 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA';
        return c.resource('default/secret/one', 'bearer');
      },
      status: 401,
      code: 'KBS_TOKEN_INVALID',
      audit: 'kbs.release',
    },
    {
      name: 'missing resource',
      run: async () => {
        const c = new KbsClient(server.url);
        const { nonce } = await c.auth('sample');
        await sampleAttest(c, nonce!);
        return c.resource('default/secret/none', 'cookie');
      },
      status: 404,
      code: 'KBS_RESOURCE_NOT_FOUND',
      audit: 'kbs.release',
    },
  ];
  for (const c of cases) {
    const res = await c.run();
    assert.equal(res.status, c.status, `${c.name}: ${JSON.stringify(res.body)}`);
    isProblem(res.body, c.code);
    if (c.audit) assert.ok(await auditHas(c.audit, c.code), `${c.name}: audit record`);
  }
});

test('policy denial releases nothing (403) and is audited', async () => {
  const set = await http('PUT', `${server.url}/api/v1/policies/resource`, {
    body: { text: 'resource.repository == "other"' },
    headers: admin(),
  });
  assert.equal(set.status, 204);
  try {
    const c = new KbsClient(server.url);
    const { nonce } = await c.auth('sample');
    assert.equal((await sampleAttest(c, nonce!)).status, 200);
    const res = await c.resource('default/secret/one', 'cookie');
    assert.equal(res.status, 403);
    isProblem(res.body, 'KBS_POLICY_DENY');
    assert.ok(await auditHas('kbs.release', 'KBS_POLICY_DENY'));
  } finally {
    await http('PUT', `${server.url}/api/v1/policies/resource`, {
      body: { text: 'status == "affirming"' },
      headers: admin(),
    });
  }
});

test('admin API: auth required, policies validated, resources listed without values, CoCo endpoints', async () => {
  assert.equal((await http('GET', `${server.url}/api/v1/resources`)).status, 401);
  assert.equal(
    (await http('GET', `${server.url}/api/v1/resources`, { headers: { authorization: 'Bearer nope' } })).status,
    401,
  );
  const bad = await http('PUT', `${server.url}/api/v1/policies/resource`, {
    body: { text: 'status ==' },
    headers: admin(),
  });
  assert.equal(bad.status, 400);
  isProblem(bad.json, 'POLICY_INVALID');
  const coco = await http('POST', `${server.url}/kbs/v0/resource/default/secret/raw`, {
    raw: Buffer.from([0, 1, 2, 255]),
    headers: { ...admin(), 'content-type': 'application/octet-stream' },
  });
  assert.equal(coco.status, 200, coco.text);
  const policy = await http('POST', `${server.url}/kbs/v0/resource-policy`, {
    body: { policy: Buffer.from('status == "affirming"').toString('base64') },
    headers: admin(),
  });
  assert.equal(policy.status, 200, policy.text);
  const list = await http('GET', `${server.url}/api/v1/resources`, { headers: admin() });
  assert.deepEqual(list.json.map((r: any) => r.path).sort(), ['default/secret/one', 'default/secret/raw']);
  assert.ok(list.json.every((r: any) => !('value' in r)));
  assert.equal(list.json.find((r: any) => r.path === 'default/secret/raw').size, 4);
  const del = await http('DELETE', `${server.url}/api/v1/resources/default/secret/raw`, { headers: admin() });
  assert.equal(del.status, 204);
  assert.equal(
    (await http('DELETE', `${server.url}/api/v1/resources/default/secret/raw`, { headers: admin() })).status,
    404,
  );
});

test('OpenAPI, health, readiness and metrics', async () => {
  const spec = await http('GET', `${server.url}/api/v1/openapi.json`);
  assert.equal(spec.status, 200);
  assert.ok(spec.json.openapi.startsWith('3.'));
  assert.ok(spec.json.paths['/api/v1/resources/{repository}/{type}/{tag}']);
  assert.ok(spec.json.paths['/kbs/v0/attest']);
  assert.equal((await http('GET', `${server.url}/healthz`)).status, 200);
  assert.equal((await http('GET', `${server.url}/readyz`)).status, 200);
  const metrics = await http('GET', `${server.url}/metrics`);
  assert.match(metrics.text, /cloak_http_requests_total\{route="\/kbs\/v0\/auth",status="200"\} \d+/);
});
