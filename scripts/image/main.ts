/**
 * npm run image — Cloak's own image, without Docker: an OCI layout (build/image by default), then,
 * with --push, the image in a registry by Cloak's own registry client.
 *
 *   npm run image
 *   npm run image -- --push docker://registry.example/cloak:0.1.0
 *   npm run image -- --push docker://127.0.0.1:5000/cloak:dev --tls-verify=false
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OciLayout, parseDockerReference, pushFromLayout } from '../../src/oci/index.ts';
import { buildCloakImage } from './build.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const { values: o } = parseArgs({
  options: {
    out: { type: 'string', default: join(REPO_ROOT, 'build', 'image') },
    tag: { type: 'string' },
    cache: { type: 'string', default: process.env.CLOAK_IMAGE_CACHE ?? join(REPO_ROOT, '.cache', 'image') },
    push: { type: 'string' },
    'tls-verify': { type: 'string', default: 'true' },
    'no-build': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (o.help) {
  process.stdout
    .write(`npm run image -- [--out DIR] [--tag TAG] [--cache DIR] [--push docker://HOST/REPO:TAG [--tls-verify=false]] [--no-build]
Builds Cloak's image (node runtime, production dependencies, dist/, Debian's libc/libstdc++/CA bundle) into an OCI layout.
The downloads are cached in --cache (CLOAK_IMAGE_CACHE; default .cache/image), so rebuilds are offline and give the same digest.
`);
  process.exit(0);
}
const log = (s: string) => process.stderr.write(`image: ${s}\n`);
const tag = o.tag ?? (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
try {
  const built = await buildCloakImage({ repo: REPO_ROOT, out: o.out, tag, cache: o.cache, build: !o['no-build'], log });
  const mib = (built.compressedSize / 2 ** 20).toFixed(1);
  log(`oci:${o.out}:${tag} ${built.descriptor.digest} (${mib} MiB compressed, revision ${built.source.revision})`);
  if (o.push) {
    if (!o.push.startsWith('docker://')) throw new Error(`--push takes docker://HOST/REPO:TAG, not ${o.push}`);
    const ref = parseDockerReference(o.push);
    const digest = await pushFromLayout(OciLayout.open(o.out), tag, ref, { tlsVerify: o['tls-verify'] !== 'false' });
    const pinned = `${ref.registry}/${ref.repository}@${digest}`;
    log(`pushed ${o.push} → ${pinned}`);
    log(
      `use it: cloak generate … --agent-image ${ref.registry}/${ref.repository}:${ref.tag ?? 'latest'} (pinned to ${digest} at generate time)`,
    );
    process.stdout.write(`${pinned}\n`);
  } else {
    process.stdout.write(`${built.descriptor.digest}\n`);
  }
} catch (e) {
  log(`failed: ${(e as Error).message}`);
  process.exitCode = 1;
}
