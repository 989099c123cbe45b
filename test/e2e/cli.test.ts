import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCloak, runCloak, tempDir, type CloakServer } from './harness.ts';

let server: CloakServer;
let dir: ReturnType<typeof tempDir>;
const env = () => ({ CLOAK_SERVER: server.url, CLOAK_TOKEN: server.token });

before(async () => {
  server = await startCloak();
  dir = tempDir('cloak-cli-');
});
after(async () => {
  await server?.stop();
  dir?.remove();
});

test('first start creates the admin token with mode 0600', () => {
  assert.equal(statSync(join(server.data, 'admin-token')).mode & 0o777, 0o600);
  assert.equal(statSync(join(server.data, 'sealing.key')).mode & 0o777, 0o600);
});

test('cloak resource set | ls | rm', async () => {
  const file = join(dir.path, 'kek.bin');
  writeFileSync(file, Buffer.alloc(32, 1));
  assert.equal((await runCloak(['resource', 'set', 'default/key/1', '--file', file], { env: env() })).code, 0);
  assert.equal((await runCloak(['resource', 'set', 'default/secret/pw', '--value', 's3cret'], { env: env() })).code, 0);
  assert.equal(
    (await runCloak(['resource', 'set', 'default/secret/stdin'], { env: env(), input: 'from stdin' })).code,
    0,
  );
  const ls = await runCloak(['resource', 'ls', '--json'], { env: env() });
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(
    JSON.parse(ls.stdout).map((r: any) => [r.path, r.size]),
    [
      ['default/key/1', 32],
      ['default/secret/pw', 6],
      ['default/secret/stdin', 10],
    ],
  );
  assert.ok(!ls.stdout.includes('s3cret'));
  assert.equal((await runCloak(['resource', 'rm', 'default/secret/pw'], { env: env() })).code, 0);
  const missing = await runCloak(['resource', 'rm', 'default/secret/pw'], { env: env() });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /ADMIN_RESOURCE_NOT_FOUND/);
  const bad = await runCloak(['resource', 'set', '../../etc/passwd', '--value', 'x'], { env: env() });
  assert.equal(bad.code, 1);
});

test('cloak policy get | set refuses what does not compile', async () => {
  const get = await runCloak(['policy', 'get', 'attestation'], { env: env() });
  assert.equal(get.code, 0);
  assert.match(get.stdout, /allowInsecure: \[\]/);
  const good = join(dir.path, 'res.cel');
  writeFileSync(good, 'status == "affirming" && resource.repository == "default"');
  assert.equal((await runCloak(['policy', 'set', 'resource', good], { env: env() })).code, 0);
  const json = JSON.parse((await runCloak(['policy', 'get', 'resource', '--json'], { env: env() })).stdout);
  assert.equal(json.default, false);
  const set = await runCloak(['policy', 'set', 'resource', '-'], { env: env(), input: 'status ==' });
  assert.equal(set.code, 1);
  assert.match(set.stderr, /POLICY_INVALID/);
  const unknown = await runCloak(['policy', 'get', 'nonsense'], { env: env() });
  assert.equal(unknown.code, 1);
});

test('cloak audit ls shows admin changes; missing server or token is a usage error (exit 2)', async () => {
  const ls = await runCloak(['audit', 'ls', '--json', '--kind', 'admin.policy.set'], { env: env() });
  assert.equal(ls.code, 0, ls.stderr);
  const records = JSON.parse(ls.stdout);
  assert.ok(records.some((r: any) => r.outcome === 'refused'));
  assert.ok(records.some((r: any) => r.outcome === 'ok'));
  const noServer = await runCloak(['resource', 'ls'], { env: { CLOAK_SERVER: '', CLOAK_TOKEN: '' } });
  assert.equal(noServer.code, 2);
  assert.match(noServer.stderr, /--server/);
  const wrongToken = await runCloak(['resource', 'ls', '--token', 'wrong'], { env: env() });
  assert.equal(wrongToken.code, 1);
  assert.match(wrongToken.stderr, /ADMIN_UNAUTHORIZED/);
});
