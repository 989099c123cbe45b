// Cloak's own image (npm run image): built twice from one commit → one manifest digest; run under runc
// (unpacked by umoci) as its non-root user; pushed to a loopback docker-registry by `npm run image --push`,
// pulled back by skopeo, and pinned by `cloak generate --agent-image`.
// The first build on a machine downloads the Node package and the Debian packages into the cache
// (CLOAK_IMAGE_CACHE, default .cache/image); every later one is offline.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OciLayout } from '../../src/oci/index.ts';
import { buildCloakImage } from '../../scripts/image/build.ts';
import { cacheComplete, NODE_PACKAGE } from '../../scripts/image/inputs.ts';
import { ENTRYPOINT, IMAGE_USER } from '../../scripts/image/assemble.ts';
import { repoRoot, runCloak, tempDir } from './harness.ts';
import { parseYamlStream } from '../support/k8s-validate.ts';
import { registryAvailable, skopeo, startRegistry } from '../support/registry.ts';

const CACHE = process.env.CLOAK_IMAGE_CACHE ?? join(repoRoot, '.cache', 'image');
const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

function skipReason(): string | false {
  const missing = ['runc', 'umoci', 'skopeo', 'apt-get', 'dpkg-deb'].filter((b) => !has(b));
  if (!registryAvailable()) missing.push('docker-registry');
  if (missing.length) return `needs ${missing.join(', ')} (npm run setup)`;
  if (process.getuid?.() !== 0) return 'needs root (runc)';
  if (cacheComplete(repoRoot, CACHE)) return false;
  const npm = spawnSync('npm', ['view', `${NODE_PACKAGE.name}@${NODE_PACKAGE.version}`, 'version'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return npm.status === 0
    ? false
    : `the image cache ${CACHE} is empty and the npm registry is unreachable (npm view ${NODE_PACKAGE.name}: ${(npm.stderr || npm.error?.message || '').trim().split('\n')[0]})`;
}
const skip = skipReason();

const dir = tempDir('cloak-image-');
after(() => dir.remove());

/** Runs the unpacked image's entrypoint with `args` (or `argv` instead of the entrypoint) under runc; stdout and exit code. */
function runInImage(bundle: string, args: string[], argv?: string[]): { code: number; out: string; err: string } {
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.args = argv ?? [...ENTRYPOINT, ...args];
  config.process.terminal = false;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  const r = spawnSync('runc', ['run', '--bundle', bundle, `cloak-image-test-${process.pid}`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr + (r.error?.message ?? '') };
}

test(
  'npm run image: reproducible, runs as its non-root user under runc, pushes, pulls back, and generate pins it',
  { skip, timeout: 30 * 60_000 },
  async () => {
    const log = (s: string) => process.stderr.write(`  image: ${s}\n`);
    const a = await buildCloakImage({ repo: repoRoot, out: join(dir.path, 'a'), tag: 'test', cache: CACHE, log });
    const b = await buildCloakImage({ repo: repoRoot, out: join(dir.path, 'b'), tag: 'test', cache: CACHE, log });
    assert.equal(b.descriptor.digest, a.descriptor.digest, 'two builds from one commit give one manifest digest');
    const mib = a.compressedSize / 2 ** 20;
    console.log(`image ${a.descriptor.digest}: ${mib.toFixed(1)} MiB compressed`);
    assert.ok(mib < 80, `${mib.toFixed(1)} MiB compressed, the aim is under 80`);

    // The config: non-root user, the CLI as entrypoint, where it came from.
    const image = OciLayout.open(join(dir.path, 'a')).resolve('test');
    assert.equal(image.config.config?.User, `${IMAGE_USER.uid}:${IMAGE_USER.uid}`);
    assert.deepEqual(image.config.config?.Entrypoint, ENTRYPOINT);
    const head = spawnSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    assert.match(
      image.manifest.annotations?.['org.opencontainers.image.revision'] ?? '',
      new RegExp(`^${head}(-dirty)?$`),
    );
    assert.equal(image.manifest.annotations?.['org.opencontainers.image.created'], image.config.created);

    // Run it: umoci unpacks into a runtime bundle, runc runs the entrypoint as the image's user.
    const bundle = join(dir.path, 'bundle');
    const unpack = spawnSync('umoci', ['unpack', '--image', `${join(dir.path, 'a')}:test`, bundle], {
      encoding: 'utf8',
    });
    assert.equal(unpack.status, 0, unpack.stderr);
    const version = runInImage(bundle, ['--version']);
    assert.equal(version.code, 0, version.err);
    assert.equal(version.out.trim(), JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
    const help = runInImage(bundle, ['agent', 'init', '--help']);
    assert.equal(help.code, 0, help.err);
    assert.match(help.out, /--out/);
    const who = runInImage(
      bundle,
      [],
      [
        '/usr/local/bin/node',
        '-e',
        `const D = require('${'/opt/cloak/node_modules/better-sqlite3'}'); console.log(process.getuid(), new D(':memory:').prepare('select 41 + 1 as x').get().x)`,
      ],
    );
    assert.equal(who.code, 0, who.err);
    assert.equal(
      who.out.trim(),
      `${IMAGE_USER.uid} 42`,
      "runs as uid 65532; better-sqlite3's addon loads with the image's libraries",
    );

    const registry = await startRegistry();
    try {
      // Push as a user would (the CLI, Cloak's registry client), pull back with skopeo: the same manifest.
      const ref = `${registry.host}/cloak:0.1.0`;
      const push = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'scripts/image/main.ts',
          '--no-build',
          '--out',
          join(dir.path, 'c'),
          '--push',
          `docker://${ref}`,
          '--tls-verify=false',
        ],
        { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, CLOAK_IMAGE_CACHE: CACHE } },
      );
      assert.equal(push.status, 0, push.stderr);
      assert.equal(push.stdout.trim(), `${registry.host}/cloak@${a.descriptor.digest}`);
      const pulled = join(dir.path, 'pulled');
      const copy = skopeo('copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${pulled}:0.1.0`);
      assert.equal(copy.status, 0, copy.stderr);
      assert.equal(OciLayout.open(pulled).resolve('0.1.0').descriptor.digest, a.descriptor.digest);
      const inspect = JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${ref}`).stdout);
      assert.equal(inspect.Digest, a.descriptor.digest);

      // cloak generate --agent-image takes the pushed tag and pins its digest; the agent's config comes from the registry.
      const pod = `apiVersion: v1\nkind: Pod\nmetadata: { name: web }\nspec:\n  containers:\n    - name: web\n      image: ${ref}\n`;
      const gen = await runCloak(
        ['generate', '-', '--agent-image', ref, '--tls-verify=false', '--server', 'http://cloak:8080'],
        { input: pod },
      );
      assert.equal(gen.code, 0, gen.stderr);
      const out = parseYamlStream(gen.stdout).find((d) => d.kind === 'Pod')!;
      assert.equal(out.spec.initContainers[0].image, `${registry.host}/cloak@${a.descriptor.digest}`);
      assert.doesNotMatch(gen.stderr, /assumes the config|pins the agent image by its tag/);
    } finally {
      await registry.stop();
    }
  },
);

test('cloak generate without --agent-image says how to build and push one', async () => {
  const r = await runCloak(['generate', '-'], {
    input:
      'apiVersion: v1\nkind: Pod\nmetadata: { name: web }\nspec: { containers: [{ name: web, image: "x@sha256:' +
      '0'.repeat(64) +
      '" }] }\n',
    env: { CLOAK_AGENT_IMAGE: '' },
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /USAGE_AGENT_IMAGE/);
  assert.match(r.stderr, /npm run image -- --push docker:\/\//);
});
