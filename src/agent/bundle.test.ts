import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
};

// The agent runs inside the TEE on its own: what it bundles is what each pod loads and trusts.
test('the agent bundle carries the KBS protocol but no broker, CEL policy, store, server or DCAP code', async () => {
  const { metafile } = await build({
    entryPoints: [new URL('./index.ts', import.meta.url).pathname],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
    external: Object.keys(pkg.dependencies),
  });
  const sources = Object.keys(metafile.inputs).filter((p) => p.startsWith('src/'));
  const packages = new Set(
    Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)),
  );
  assert.ok(sources.includes('src/kbs/guest.ts'), 'the bundle was read from src/');
  assert.deepEqual(
    sources.filter((p) =>
      /^src\/(policy|store|server)\/|^src\/kbs\/(?!guest|protocol|jwe|initdata)|^src\/attest\/(dcap|snp\/(?!report))/.test(
        p,
      ),
    ),
    [],
  );
  assert.equal(packages.has('@marcbachmann/cel-js'), false, 'no CEL');
});
