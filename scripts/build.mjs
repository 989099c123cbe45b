// Bundles the CLI into dist/cloak.js (native and large deps stay external).
// Code splitting: each `await import()` in a command's action becomes a chunk
// under dist/chunks/, loaded only when that command runs.
import { build } from 'esbuild';
import { readFileSync, chmodSync, rmSync, copyFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync('dist', { recursive: true, force: true }); // dist holds only this build's output; no stale chunks
await build({
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist',
  entryNames: 'cloak',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: Object.keys(pkg.dependencies ?? {}),
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
chmodSync('dist/cloak.js', 0o755);
// The Kata agent policy rules are read at run time beside the module that loads them (a chunk, or cloak.js).
for (const dir of ['dist', 'dist/chunks']) copyFileSync('src/k8s/policy/rules.rego', `${dir}/rules.rego`);
