import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimCloak, allowSim, runCloak, http, tempDir, type CloakServer, setResource } from './harness.ts';

const INIT_DATA = `version = "0.1.0"
algorithm = "sha384"
[data]
"cloak.toml" = '''
name = "web"
images = ["sha256:${'a'.repeat(64)}"]
[[secrets]]
resource = "default/secret/db-password"
file = "db/password"
[[secrets]]
resource = "default/secret/api-key"
env = "API_KEY"
'''
`;

let server: CloakServer;
let dir: ReturnType<typeof tempDir>;
const admin = () => ({ authorization: `Bearer ${server.token}` });

before(async () => {
  dir = tempDir('cloak-agent-');
  server = await startSimCloak(dir.path);
  writeFileSync(join(dir.path, 'init-data.toml'), INIT_DATA);
  await setResource(server, 'default/secret/db-password', 'pw-1');
  await setResource(server, 'default/secret/api-key', "it's-key");
});
after(async () => {
  await server?.stop();
  dir?.remove();
});

const agentInit = (out: string, initData = join(dir.path, 'init-data.toml')) =>
  runCloak([
    'agent',
    'init',
    '--tee',
    'sim',
    '--sim-dir',
    join(dir.path, 'sim'),
    '--server',
    server.url,
    '--out',
    out,
    '--init-data',
    initData,
    '--json',
  ]);

/** `cloak agent init` failed with `code` in its message and left `out` empty. */
function assertRefused(r: { code: number; stderr: string }, code: RegExp, out: string) {
  assert.equal(r.code, 1);
  assert.match(r.stderr, code);
  assert.ok(!existsSync(out) || readdirSync(out).length === 0);
}

test('refused under the default policy: non-zero exit with the reason, nothing written', async () => {
  const out = join(dir.path, 'refused');
  const r = await agentInit(out);
  assertRefused(r, /POLICY_INSECURE_TEE/, out);
});

test('attests with the simulated TEE and writes the secrets (files 0400, env file)', async () => {
  await allowSim(server);
  const out = join(dir.path, 'secrets');
  const r = await agentInit(out);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { workload: 'web', tee: 'sim', files: ['db/password'], env: ['API_KEY'] });
  assert.equal(readFileSync(join(out, 'db/password'), 'utf8'), 'pw-1');
  assert.equal(statSync(join(out, 'db/password')).mode & 0o777, 0o400);
  assert.equal(readFileSync(join(out, 'cloak.env'), 'utf8'), "API_KEY='it'\\''s-key'\n");
  assert.deepEqual(readdirSync(out).sort(), ['cloak.env', 'db']);
});

test('a missing secret refuses the whole init: nothing written', async () => {
  await http('DELETE', `${server.url}/api/v1/resources/default/secret/api-key`, { headers: admin() });
  const out = join(dir.path, 'partial');
  const r = await agentInit(out);
  assertRefused(r, /KBS_RESOURCE_NOT_FOUND/, out);
});

test('a secret file named cloak.env beside a variable is refused with AGENT_SECRET_CONFLICT: nothing written', async () => {
  const conflict = join(dir.path, 'conflict.toml');
  writeFileSync(
    conflict,
    INIT_DATA.replace('file = "db/password"', 'file = "cloak.env"').replace(
      /resource = "default\/secret\/api-key"\nenv/,
      'resource = "default/secret/db-password"\nenv',
    ),
  );
  const out = join(dir.path, 'conflict');
  const r = await agentInit(out, conflict);
  assertRefused(r, /AGENT_SECRET_CONFLICT/, out);
});
