// A CoCo pod's secrets without a TEE device in the container: the cloak-agent
// init container (the CLI, with the arguments `cloak generate` gave it) asks
// the guest's data hub, which attests to a real Cloak server with the pod's
// init-data; sealed env values round-trip through the same data hub. The data
// hub is a labelled stand-in (src/agent/testing/cdh-standin.ts); its
// attestation is the agent's own KBS client with sim evidence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runCloak, startCloak, allowSim, tempDir } from './harness.ts';
import { parseYamlStream, validateK8s } from '../support/k8s-validate.ts';
import { decodeInitData } from '../../src/lib/index.ts';
import { INITDATA_ANNOTATION } from '../../src/k8s/index.ts';
import { AgentKbsClient, chooseAttester, DEFAULT_CDH_URL } from '../../src/agent/index.ts';
import { resourceOfKbsUri } from '../../src/manifest/index.ts';
import { startCdhStandIn } from '../../src/agent/testing/cdh-standin.ts';

const APP = `registry.example/shop/app@sha256:${'a'.repeat(64)}`;
const POD = `apiVersion: v1
kind: Pod
metadata: { name: shop }
spec:
  containers:
    - name: app
      image: ${APP}
`;

test('the agent container gets its secrets through the guest data hub; a sealed env value unseals through it; a missing one writes nothing', async () => {
  const dir = tempDir('cloak-cdh-e2e-');
  let server;
  let cdh;
  try {
    const p = (f: string) => join(dir.path, f);
    assert.equal((await runCloak(['sim', 'init', '--dir', p('sim')])).code, 0);
    server = await startCloak({ args: ['--sim-root', p('sim/root.pem')] });
    const env = { CLOAK_SERVER: server.url, CLOAK_TOKEN: server.token };
    await allowSim(server);
    assert.equal((await runCloak(['manifest', 'keygen', '--out', p('alice.pem')])).code, 0);
    assert.equal((await runCloak(['secret', 'keygen', '--out', p('sealing.jwk')])).code, 0);
    assert.equal(lstatSync(p('sealing.jwk')).mode & 0o777, 0o600);
    for (const [path, args] of [
      ['default/sealing/key', ['--file', p('sealing.jwk.pub')]],
      ['default/secret/db', ['--value', "pw'1"]],
      ['default/secret/api-key', ['--value', 'api-123']],
    ] as const) {
      const r = await runCloak(['resource', 'set', path, ...args], { env });
      assert.equal(r.code, 0, r.stderr);
    }
    writeFileSync(
      p('manifest.yaml'),
      stringify({
        version: 1,
        owners: {
          approvals: 1,
          users: [{ name: 'alice', publicKey: readFileSync(p('alice.pem.pub'), 'utf8'), roles: ['owner'] }],
        },
        secrets: [
          { name: 'tls', resource: 'default/secret/shop-tls', generate: { type: 'random', bytes: 32 } },
          { name: 'db', resource: 'default/secret/db' },
          { name: 'api', resource: 'default/secret/api-key' },
        ],
        workloads: [
          {
            name: 'shop',
            tees: ['sim'],
            secrets: [
              { name: 'tls', file: 'tls/key' },
              { name: 'db', env: 'DB_PASSWORD' },
              { name: 'api', env: 'API_KEY', sealed: true },
            ],
          },
        ],
      }),
    );
    writeFileSync(p('pod.yaml'), POD);
    mkdirSync(p('configs'));
    writeFileSync(
      p(`configs/sha256-${'a'.repeat(64)}.json`),
      JSON.stringify({ config: { Entrypoint: ['/app'], Env: ['PATH=/usr/bin:/bin'] } }),
    );
    const gen = await runCloak([
      'generate',
      p('pod.yaml'),
      '--manifest',
      p('manifest.yaml'),
      '--server',
      server.url,
      '--tee',
      'sim',
      '--image-configs',
      p('configs'),
      '--offline',
      '--sealing-key',
      p('sealing.jwk'),
      '--sealing-kid',
      'default/sealing/key',
      '-o',
      p('out'),
    ]);
    assert.equal(gen.code, 0, gen.stderr);
    const set = await runCloak(['manifest', 'set', p('manifest.yaml'), '--user', 'alice', '--key', p('alice.pem')], {
      env,
    });
    assert.equal(set.code, 0, set.stderr);
    const podDoc = parseYamlStream(readFileSync(p('out/pod.yaml'), 'utf8'))[0]!;
    assert.deepEqual(validateK8s([podDoc]), []);

    // The guest: its data hub attests with the pod's init-data.
    const initData = decodeInitData(podDoc.metadata.annotations[INITDATA_ANNOTATION]);
    const kbs = new AgentKbsClient({
      url: server.url,
      initData,
      attester: chooseAttester({ tee: 'sim', simDir: p('sim'), initData }),
    });
    cdh = await startCdhStandIn({ getResource: (uri) => kbs.resource(resourceOfKbsUri(uri) ?? uri) });

    const agent = podDoc.spec.initContainers[0];
    assert.equal(agent.name, 'cloak-agent');
    const args = (extra: string[] = []) =>
      [...agent.args.map((a: string) => (a === DEFAULT_CDH_URL ? cdh!.url : a)), ...extra].map((a: string) =>
        a === '/run/cloak/secrets' ? p('secrets') : a,
      );
    const ok = await runCloak(args());
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(readFileSync(p('secrets/tls/key')).length, 32);
    assert.equal(readFileSync(p('secrets/cloak.env'), 'utf8'), "DB_PASSWORD='pw'\\''1'\n");
    for (const f of ['tls/key', 'cloak.env']) assert.equal(lstatSync(p(`secrets/${f}`)).mode & 0o777, 0o400, f);
    assert.doesNotMatch(
      readFileSync(p('secrets/cloak.env'), 'utf8'),
      /API_KEY/,
      "the sealed variable is the guest's to unseal, not the agent's",
    );

    // The app's sealed variable, as the Kata agent would have it unsealed before the app starts.
    const sealed = podDoc.spec.containers[0].env.find((e: any) => e.name === 'API_KEY').value;
    assert.equal((await cdh.unseal(sealed)).toString(), 'api-123');
    const inspect = await runCloak(['secret', 'inspect', sealed, '--key', p('sealing.jwk.pub'), '--json']);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.deepEqual(JSON.parse(inspect.stdout).payload, {
      version: '0.1.0',
      type: 'vault',
      name: 'kbs:///default/secret/api-key',
      provider: 'kbs',
      provider_settings: {},
      annotations: {},
    });
    assert.equal(JSON.parse(inspect.stdout).signature, 'verified');

    // One resource the KBS will not give: a clear error and nothing written.
    const missing = await runCloak(
      [...args(['--secret-file', 'x=default/secret/not-mine'])].map((a) => (a === p('secrets') ? p('secrets2') : a)),
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /AGENT_CDH_RESOURCE_FAILED.*default\/secret\/not-mine/);
    assert.ok(!existsSync(p('secrets2')) || readdirSync(p('secrets2')).length === 0);
  } finally {
    await cdh?.close();
    await server?.stop();
    dir.remove();
  }
});
