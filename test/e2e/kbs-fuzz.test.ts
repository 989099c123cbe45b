import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startSimCloak, allowSim, http, tempDir, type CloakServer } from './harness.ts';
import { KbsClient, teeKey, attestPayload } from './kbs-client.ts';
import { readSimDevice, teeEvidence } from './tee-evidence.ts';

let server: CloakServer;
let dir: ReturnType<typeof tempDir>;

before(async () => {
  dir = tempDir('cloak-fuzz-');
  server = await startSimCloak(dir.path);
  const admin = { authorization: `Bearer ${server.token}` };
  await allowSim(server);
  await http('PUT', `${server.url}/api/v1/resources/default/secret/x`, { body: { value: 'AA==' }, headers: admin });
});
after(async () => {
  await server?.stop();
  dir?.remove();
});

let seed = 1234;
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const junk = [
  null,
  0,
  -1,
  1e308,
  '',
  'x'.repeat(5000),
  [],
  {},
  true,
  '\u0000',
  { nested: { deep: [1, 2, 3] } },
  'AAAA',
];

/** Replaces one random node of a JSON value with junk. */
function mutate(v: any, depth = 0): any {
  if (v === null || typeof v !== 'object' || depth > 6 || rand(4) === 0) return junk[rand(junk.length)];
  const copy: any = Array.isArray(v) ? [...v] : { ...v };
  const keys = Object.keys(copy);
  if (keys.length === 0) return junk[rand(junk.length)];
  const k = keys[rand(keys.length)]!;
  if (rand(8) === 0) delete copy[k];
  else copy[k] = mutate(copy[k], depth + 1);
  return copy;
}

test('fuzz: 400 mutated attest requests (sim evidence) never crash the server, never 5xx, never release', async () => {
  const device = readSimDevice(join(dir.path, 'sim'));
  const key = teeKey('EC');
  const statuses = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const client = new KbsClient(server.url);
    const { nonce } = await client.auth('sim');
    const evidence = teeEvidence('sim', nonce!, key, device, { measured: 'x' });
    const payload = mutate(attestPayload(nonce!, key, evidence));
    const res = await http('POST', `${server.url}/kbs/v0/attest`, {
      body: payload,
      headers: { cookie: `kbs-session-id=${client.cookie}` },
    });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    assert.ok(res.status < 500, `5xx for ${JSON.stringify(payload).slice(0, 300)}: ${res.text}`);
    if (res.status !== 200) {
      assert.equal(typeof res.json?.detail, 'string');
      assert.equal(
        (await client.resource('default/secret/x', 'cookie')).status >= 400,
        true,
        'nothing released after a refused attest',
      );
    }
  }
  assert.ok((statuses.get(400) ?? 0) + (statuses.get(401) ?? 0) > 100, JSON.stringify([...statuses]));
  assert.equal((await http('GET', `${server.url}/healthz`)).status, 200);
});
