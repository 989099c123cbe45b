import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { OciLayout, buildImage } from '../../src/oci/index.ts';
import { decodeInitData } from '../../src/lib/index.ts';
import { INITDATA_ANNOTATION } from '../../src/k8s/index.ts';
import { startSimCloak, allowSim, runCloak, tempDir } from './harness.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';
import { startRegistry, registryAvailable, skopeo } from '../support/registry.ts';
import { parseYamlStream } from '../support/k8s-validate.ts';

const canRun =
  process.getuid?.() === 0 &&
  spawnSync('runc', ['--version']).status === 0 &&
  existsSync('/bin/busybox') &&
  registryAvailable() &&
  spawnSync('skopeo', ['--version']).status === 0;

test(
  'generate → manifest → cloak run: a workload from the generated manifest gets its secrets through its init-data; another is refused',
  { skip: canRun ? false : 'needs root, runc, busybox-static, docker-registry, skopeo' },
  async () => {
    const dir = tempDir('cloak-k8s-run-');
    const registry = await startRegistry();
    let server;
    try {
      server = await startSimCloak(dir.path);
      const env = { CLOAK_SERVER: server.url, CLOAK_TOKEN: server.token };
      const plain = OciLayout.create(join(dir.path, 'app'));
      await buildImage(plain, 'v1', [await busyboxLayerTar()], {
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: ['echo "$(hostname) read: $(cat /run/cloak/secrets/msg)"'],
        User: 'app',
      });
      assert.equal(
        skopeo('copy', '--dest-tls-verify=false', `oci:${plain.dir}:v1`, `docker://${registry.host}/app:v1`).status,
        0,
      );
      const conv = await runCloak(
        [
          'convert',
          `docker://${registry.host}/app:v1`,
          `docker://${registry.host}/app:enc`,
          '--tls-verify=false',
          '--key-id',
          'app',
        ],
        { env },
      );
      assert.equal(conv.code, 0, conv.stderr);

      // The image runs as user "app" (1000:1000); its layers are encrypted, so the agent policy takes the ids from the pod.
      const deployment = (name: string) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name },
        spec: {
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              containers: [
                {
                  name: 'app',
                  image: `${registry.host}/app:enc`,
                  securityContext: { runAsUser: 1000, runAsGroup: 1000 },
                },
              ],
            },
          },
        },
      });
      writeFileSync(
        join(dir.path, 'app.yaml'),
        [deployment('web'), deployment('batch')].map((d) => stringify(d)).join('---\n'),
      );
      assert.equal((await runCloak(['manifest', 'keygen', '--out', join(dir.path, 'alice.pem')])).code, 0);
      writeFileSync(
        join(dir.path, 'manifest.yaml'),
        stringify({
          version: 1,
          owners: {
            approvals: 1,
            users: [
              { name: 'alice', publicKey: readFileSync(join(dir.path, 'alice.pem.pub'), 'utf8'), roles: ['owner'] },
            ],
          },
          secrets: [
            { name: 'web-msg', resource: 'default/secret/web-msg' },
            { name: 'batch-msg', resource: 'default/secret/batch-msg' },
          ],
          workloads: [
            { name: 'web', tees: ['sim'], secrets: [{ name: 'web-msg', file: 'msg' }], keys: ['default/key/app'] },
            { name: 'batch', tees: ['sim'], secrets: [{ name: 'batch-msg', file: 'msg' }], keys: ['default/key/app'] },
          ],
        }),
      );
      const gen = await runCloak([
        'generate',
        join(dir.path, 'app.yaml'),
        '--manifest',
        join(dir.path, 'manifest.yaml'),
        '--server',
        server.url,
        '--tee',
        'sim',
        '--tls-verify=false',
        '-o',
        join(dir.path, 'out'),
      ]);
      assert.equal(gen.code, 0, gen.stderr);
      assert.match(
        gen.stderr,
        new RegExp(
          `pinned ${registry.host.replace('.', '\\.')}/app:enc → ${registry.host.replace('.', '\\.')}/app@sha256:[0-9a-f]{64}`,
        ),
      );
      assert.equal(
        (
          await runCloak(
            [
              'manifest',
              'set',
              join(dir.path, 'manifest.yaml'),
              '--user',
              'alice',
              '--key',
              join(dir.path, 'alice.pem'),
            ],
            { env },
          )
        ).code,
        0,
      );
      await runCloak(['resource', 'set', 'default/secret/web-msg', '--value', 'for web only'], { env });
      await runCloak(['resource', 'set', 'default/secret/batch-msg', '--value', 'for batch only'], { env });
      await allowSim(server);

      const [web] = parseYamlStream(readFileSync(join(dir.path, 'out', 'app.yaml'), 'utf8'));
      const pinned = web!.spec.template.spec.containers[0].image as string;
      const initData = decodeInitData(web!.spec.template.metadata.annotations[INITDATA_ANNOTATION]);
      writeFileSync(join(dir.path, 'web.toml'), initData);
      const run = (toml: string) =>
        runCloak(
          [
            'run',
            `docker://${pinned}`,
            '--tls-verify=false',
            '--sim-dir',
            join(dir.path, 'sim'),
            '--init-data',
            toml,
            '-q',
          ],
          { env },
        );
      const ok = await run(join(dir.path, 'web.toml'));
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, 'web read: for web only\n');

      writeFileSync(
        join(dir.path, 'forged.toml'),
        initData.replace('default/secret/web-msg', 'default/secret/batch-msg'),
      );
      const forged = await run(join(dir.path, 'forged.toml'));
      assert.equal(forged.code, 1);
      assert.match(forged.stderr, /KBS_POLICY_DENY/);
      assert.equal(forged.stdout, '');
    } finally {
      await server?.stop();
      await registry.stop();
      dir.remove();
    }
  },
);
