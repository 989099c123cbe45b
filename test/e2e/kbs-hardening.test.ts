/**
 * Regression tests for the key-broker findings of issue #13, each the way
 * the attack was made: through the real server (`cloak serve` as a process).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCloak, startSimCloak, http, tempDir, sendHeadersOnly, type CloakServer, setResource } from './harness.ts';
import { KbsClient, teeKey, attestPayload, decryptJwe, type TeeKey } from './kbs-client.ts';
import { readSimDevice, teeEvidence, type SimDevice } from './tee-evidence.ts';

const policy = (allowInsecure: string) =>
  `version: 1\nallowInsecure: ${allowInsecure}\ntrustVector:\n  hardware: "2"\n`;
/** The README's `cloak run` flow: the simulated TEE, and only it. */
const SIM_ONLY = policy('[sim]');
const SECRET = 'default/secret/one';

let server: CloakServer;
let dir: ReturnType<typeof tempDir>;
let device: SimDevice;
const admin = () => ({ authorization: `Bearer ${server.token}` });

before(async () => {
  dir = tempDir('cloak-hardening-');
  server = await startSimCloak(dir.path, { args: ['--log-level', 'info'], captureLog: true });
  device = readSimDevice(join(dir.path, 'sim'));
  await setResource(server, SECRET, 's3cret');
});
after(async () => {
  await server?.stop();
  if (server) rmSync(server.data, { recursive: true, force: true });
  dir?.remove();
});

async function setAttestationPolicy(text: string) {
  const res = await http('PUT', `${server.url}/api/v1/policies/attestation`, { body: { text }, headers: admin() });
  assert.equal(res.status, 204, res.text);
}

const evidence = (tee: string, nonce: string, key: TeeKey) => teeEvidence(tee, nonce, key, device);

async function attest(tee: string) {
  const client = new KbsClient(server.url);
  const key = teeKey('EC');
  const { nonce } = await client.auth(tee);
  const res = await client.attest(attestPayload(nonce!, key, evidence(tee, nonce!, key)));
  return { client, key, res };
}

async function releases(): Promise<any[]> {
  return (await http('GET', `${server.url}/api/v1/audit?kind=kbs.release&limit=1000`, { headers: admin() })).json;
}

/** Refused releases are counted per client address and code, outside the chain. */
async function refusedReleases(code: string): Promise<number> {
  const counts = (
    await http('GET', `${server.url}/api/v1/audit/counts?kind=kbs.release&outcome=refused&limit=1000`, {
      headers: admin(),
    })
  ).json;
  return counts.filter((c: any) => c.code === code).reduce((n: number, c: any) => n + c.count, 0);
}

test('finding 6: under allowInsecure: [sim] a sample TEE gets no token and no secret; sim does', async () => {
  await setAttestationPolicy(SIM_ONLY);
  const sample = await attest('sample');
  assert.equal(sample.res.status, 403, JSON.stringify(sample.res.body));
  assert.equal(sample.res.body.code, 'POLICY_INSECURE_TEE');
  assert.equal(sample.client.token, undefined);
  assert.equal((await sample.client.resource(SECRET, 'cookie')).status, 401);

  const sim = await attest('sim');
  assert.equal(sim.res.status, 200, JSON.stringify(sim.res.body));
  const got = await sim.client.resource(SECRET, 'bearer');
  assert.equal(got.status, 200, JSON.stringify(got.body));
  assert.equal((await decryptJwe(got.body, sim.key)).toString(), 's3cret');

  // The old boolean form admitted sample too: it is refused, with the fix in the message.
  const old = await http('PUT', `${server.url}/api/v1/policies/attestation`, {
    body: { text: policy('true') },
    headers: admin(),
  });
  assert.equal(old.status, 400);
  assert.equal(old.json.code, 'POLICY_INVALID');
  assert.match(old.json.detail, /allowInsecure: \[sim\]/);
});

test('finding 7: tightening the attestation policy revokes tokens already issued', async () => {
  await setAttestationPolicy(policy('[sim, sample]'));
  const sample = await attest('sample');
  const sim = await attest('sim');
  assert.equal(sample.res.status, 200);
  assert.equal(sim.res.status, 200);
  assert.equal((await sample.client.resource(SECRET, 'bearer')).status, 200);

  await setAttestationPolicy(SIM_ONLY);
  const refusedBefore = await refusedReleases('POLICY_INSECURE_TEE');
  for (const form of ['bearer', 'cookie'] as const) {
    const res = await sample.client.resource(SECRET, form);
    assert.equal(res.status, 403, `${form}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.code, 'POLICY_INSECURE_TEE');
  }
  assert.equal(await refusedReleases('POLICY_INSECURE_TEE'), refusedBefore + 2, 'the refused releases are counted');
  assert.equal((await sim.client.resource(SECRET, 'bearer')).status, 200, 'sim is still admitted');

  await setAttestationPolicy(policy('[]'));
  const res = await sim.client.resource(SECRET, 'bearer');
  assert.equal(res.status, 403, JSON.stringify(res.body));
  assert.equal(res.body.code, 'POLICY_INSECURE_TEE');
  await setAttestationPolicy(SIM_ONLY);
});

test('finding 13: a token sent in a query string does not reach the log', async () => {
  await setAttestationPolicy(SIM_ONLY);
  const { client } = await attest('sim');
  const token = client.token!;
  const before = server.log().length;
  for (const url of [
    `${server.url}/kbs/v0/resource/${SECRET}?token=${token}`,
    `${server.url}/kbs/v0/resource/${SECRET}?access_token=${token}`,
    `${server.url}/api/v1/resources?token=${server.token}`,
    `${server.url}/nowhere?token=${token}`,
  ])
    assert.ok((await http('GET', url)).status >= 400);
  await waitForLog(before, '/nowhere?[redacted]');
  const log = server.log().slice(before);
  assert.ok(!log.includes(token), 'the KBS token is not logged');
  assert.ok(!log.includes(server.token), 'the admin token is not logged');
  assert.ok(log.includes(`/kbs/v0/resource/${SECRET}?[redacted]`), 'the request itself is still logged');
});

test('finding 14: tee-pubkey takes only the members a CoCo guest sends, within size limits; deep JSON is 400', async () => {
  await setAttestationPolicy(SIM_ONLY);
  const before = server.log().length;
  const key = teeKey('EC');
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['a 900 KB extra member', { ...key.jwk, pad: 'x'.repeat(900 * 1024) }, 'REQUEST_INVALID'],
    ['an extra "use" member', { ...key.jwk, use: 'enc' }, 'REQUEST_INVALID'],
    ['a long x', { ...key.jwk, x: 'A'.repeat(4096) }, 'REQUEST_INVALID'],
    ['an unknown kty', { ...key.jwk, kty: 'OKP' }, 'REQUEST_INVALID'],
    ['RSA members on an EC key', { ...key.jwk, n: 'AQAB', e: 'AQAB' }, 'KBS_TEE_PUBKEY_INVALID'],
  ];
  for (const [name, jwk, code] of cases) {
    const client = new KbsClient(server.url);
    const { nonce } = await client.auth('sim');
    const res = await client.attest(
      attestPayload(nonce!, { ...key, jwk: jwk as Record<string, string> }, evidence('sim', nonce!, key)),
    );
    assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body).slice(0, 300)}`);
    assert.equal(res.body.code, code, name);
    assert.equal(client.token, undefined);
  }
  // 100k-deep JSON made canonicalize overflow the stack (500); the server now refuses it before parsing, on every route.
  const deepText = '['.repeat(100_000) + ']'.repeat(100_000);
  const client = new KbsClient(server.url);
  const { nonce } = await client.auth('sim');
  const payload = JSON.stringify(attestPayload(nonce!, key, evidence('sim', nonce!, key))).replace(
    '"kty"',
    `"deep":${deepText},"kty"`,
  );
  for (const [method, url, raw] of [
    ['POST', '/kbs/v0/attest', payload],
    ['POST', '/kbs/v0/auth', `{"version":"0.4.0","tee":"sim","extra-params":${deepText}}`],
    ['PUT', '/api/v1/reference-values/deep', `{"v":${deepText}}`],
    ['POST', '/kbs/v0/attestation-policy', `{"policy":"","x":${deepText}}`],
  ] as const) {
    const res = await http(method, server.url + url, {
      raw,
      headers: { ...admin(), cookie: `kbs-session-id=${client.cookie}` },
    });
    assert.equal(res.status, 400, `${url}: ${res.text.slice(0, 300)}`);
    assert.equal(res.json.code, 'REQUEST_TOO_DEEP', url);
  }
  const log = server.log().slice(before);
  assert.ok(!/RangeError|Maximum call stack/.test(log), 'no stack overflow in the log');
});

test('finding 15: discovery names the configured issuer, not the Host header', async () => {
  const res = await rawGet(server.url, '/.well-known/openid-configuration', {
    host: 'evil.example',
    'x-forwarded-host': 'evil.example',
  });
  assert.equal(JSON.parse(res.body).jwks_uri, `${server.url}/.well-known/jwks.json`);
  const cfg = join(dir.path, 'issuer.yaml');
  writeFileSync(cfg, 'issuer: https://cloak.example:8443\n');
  const other = await startCloak({ args: ['--config', cfg] });
  try {
    const doc = JSON.parse(
      (await rawGet(other.url, '/.well-known/openid-configuration', { host: 'evil.example' })).body,
    );
    assert.equal(doc.jwks_uri, 'https://cloak.example:8443/.well-known/jwks.json');
  } finally {
    await other.stop();
    rmSync(other.data, { recursive: true, force: true });
  }
});

test('finding 15: JSON bodies are not coerced (an array is not a string)', async () => {
  for (const body of [
    { version: '0.4.0', tee: ['sim'] },
    { version: ['0.4.0'], tee: 'sim' },
    { version: '0.4.0', tee: 5 },
  ]) {
    const res = await http('POST', `${server.url}/kbs/v0/auth`, { body });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.json.code, 'REQUEST_INVALID');
  }
  const res = await http('PUT', `${server.url}/api/v1/policies/resource`, {
    body: { text: ['status == "affirming"'] },
    headers: admin(),
  });
  assert.equal(res.status, 400);
  // URL parts are still typed: ?limit=2 is the integer 2.
  assert.equal((await http('GET', `${server.url}/api/v1/audit?limit=2`, { headers: admin() })).json.length, 2);
});

test('finding 15: the admin token is checked before the body is read', async () => {
  // A malformed body without a token is refused for the token, not parsed.
  const res = await http('PUT', `${server.url}/api/v1/resources/default/secret/x`, { raw: '{"value":' });
  assert.equal(res.status, 401);
  assert.equal(res.json.code, 'ADMIN_UNAUTHORIZED');
  // A 1.5 MiB body announced but never sent is answered at once: the server does not wait to read it.
  for (const [method, path] of [
    ['PUT', '/api/v1/resources/default/secret/x'],
    ['PUT', '/api/v1/manifest'],
    ['POST', '/kbs/v0/resource/default/secret/x'],
  ]) {
    const r = await sendHeadersOnly(method!, server.url + path!, 1.5 * 1024 * 1024);
    assert.equal(r.status, 401, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'ADMIN_UNAUTHORIZED');
  }
});

test('finding 15: HEAD on a resource releases nothing and audits no release', async () => {
  await setAttestationPolicy(SIM_ONLY);
  const { client } = await attest('sim');
  const before = (await releases()).length;
  const res = await fetch(`${server.url}/kbs/v0/resource/${SECRET}`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${client.token}` },
  });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET');
  assert.equal((await releases()).length, before, 'no release record');
  assert.equal((await client.resource(SECRET, 'bearer')).status, 200, 'GET still releases');
});

test('finding 15: over-long and malformed paths get the RFC 7807 KBS problem shape', async () => {
  for (const [method, path, status, code] of [
    ['GET', `/kbs/v0/resource/default/secret/${'x'.repeat(300)}`, 414, 'REQUEST_PATH_TOO_LONG'],
    ['DELETE', `/api/v1/reference-values/${'x'.repeat(300)}`, 414, 'REQUEST_PATH_TOO_LONG'],
    ['GET', '/kbs/v0/resource/default/secret/%zz', 400, 'REQUEST_URL_INVALID'],
    ['GET', `/kbs/v0/resource/default/secret/${'x'.repeat(200)}`, 400, 'KBS_RESOURCE_PATH_INVALID'],
  ] as const) {
    const res = await http(method, server.url + path, { headers: admin() });
    assert.equal(res.status, status, `${path.slice(0, 60)}: ${res.text.slice(0, 200)}`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.match(res.json.type, /^https:\/\/github.com\/confidential-containers\/kbs\/errors\/\w+$/);
    assert.deepEqual(
      [res.json.code, res.json.status, typeof res.json.detail, typeof res.json.title],
      [code, status, 'string', 'string'],
    );
    assert.ok(!res.text.includes('x'.repeat(201)), 'the path is not echoed back');
  }
});

/** A GET with headers fetch() will not send (Host). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Pino writes asynchronously: waits until `marker` shows up in the log after `from`. */
async function waitForLog(from: number, marker: string) {
  for (let i = 0; i < 100 && !server.log().slice(from).includes(marker); i++)
    await new Promise((r) => setTimeout(r, 50));
}
