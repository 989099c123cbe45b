/**
 * Cloak's own image, four layers from the least to the most often changed: the system libraries
 * and the non-root user, the Node runtime, the production dependencies, the built CLI.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, OciLayout, type Descriptor } from '../../src/oci/index.ts';
import { NODE_PACKAGE, type Inputs } from './inputs.ts';
import { tarLayer, treeEntries, type LayerEntry } from './layer.ts';

export const IMAGE_USER = { uid: 65532, name: 'nonroot' };
export const APP_DIR = '/opt/cloak';
export const ENTRYPOINT = ['/usr/local/bin/node', `${APP_DIR}/dist/cloak.js`];

/** Documentation, manual pages and translations are not needed to run; iconv modules neither (Node has ICU). Copyright files stay. */
function systemFile(rel: string): boolean {
  if (/^usr\/share\/doc\/[^/]+\/copyright$/.test(rel) || /^usr\/share\/doc(\/[^/]+)?$/.test(rel)) return true;
  return (
    !/^usr\/share\/(doc|man|info|lintian|locale|bug)\//.test(rel) &&
    !/^usr\/lib\/x86_64-linux-gnu\/gconv(\/|$)/.test(rel)
  );
}

/** Of better-sqlite3's build only the addon runs; its sources and build leftovers stay out (so a rebuilt and a reused addon give one layer). */
function productionFile(rel: string): boolean {
  if (/^better-sqlite3\/build\//.test(rel))
    return ['better-sqlite3/build/Release', 'better-sqlite3/build/Release/better_sqlite3.node'].includes(rel);
  return !/^better-sqlite3\/(deps|src)(\/|$)/.test(rel) && !/^\.(bin|package-lock\.json)(\/|$)/.test(rel);
}

function systemLayer(inputs: Inputs): LayerEntry[] {
  const entries = inputs.debs.flatMap((d) => treeEntries(d.dir, '/', systemFile));
  // What update-ca-certificates would write (dpkg-deb -x runs no maintainer script): every certificate, in order.
  const certDir = inputs.debs.find((d) => d.name === 'ca-certificates')!.dir;
  const certs = treeEntries(
    join(certDir, 'usr/share/ca-certificates'),
    '/',
    (rel) => !rel.includes('/') || rel.endsWith('.crt'),
  ).filter((e): e is Extract<LayerEntry, { type: 'file' }> => e.type === 'file');
  const { uid, name } = IMAGE_USER;
  const file = (path: string, text: string): LayerEntry => ({ path, type: 'file', data: Buffer.from(text) });
  return [
    ...entries,
    file('/etc/ssl/certs/ca-certificates.crt', certs.map((c) => c.data.toString()).join('')),
    file(
      '/etc/passwd',
      `root:x:0:0:root:/root:/sbin/nologin\n${name}:x:${uid}:${uid}:${name}:/home/${name}:/sbin/nologin\n`,
    ),
    file('/etc/group', `root:x:0:\n${name}:x:${uid}:\n`),
    { path: '/tmp', type: 'directory', mode: 0o1777 },
    { path: '/root', type: 'directory', mode: 0o700 },
    { path: `/home/${name}`, type: 'directory', mode: 0o755, uid },
  ];
}

export interface ImageSource {
  repo: string;
  created: number;
  revision: string;
  source?: string;
  version: string;
}

/** Writes the image into `out` (an OCI layout) under `tag`; returns its manifest descriptor. */
export async function assembleImage(inputs: Inputs, src: ImageSource, out: string, tag: string): Promise<Descriptor> {
  const at = src.created;
  const nodeDir = join(inputs.nodeBin, '..', '..');
  const layers = [
    await tarLayer(systemLayer(inputs), at),
    await tarLayer(
      [
        { path: '/usr/local/bin/node', type: 'file', data: readFileSync(inputs.nodeBin), executable: true },
        { path: '/usr/local/share/doc/node/LICENSE', type: 'file', data: readFileSync(join(nodeDir, 'LICENSE')) },
      ],
      at,
    ),
    await tarLayer(treeEntries(inputs.nodeModules, `${APP_DIR}/node_modules`, productionFile), at),
    await tarLayer(
      [
        ...treeEntries(join(src.repo, 'dist'), `${APP_DIR}/dist`),
        { path: `${APP_DIR}/package.json`, type: 'file', data: readFileSync(join(src.repo, 'package.json')) },
      ],
      at,
    ),
  ];
  const created = new Date(at * 1000).toISOString();
  const annotations: Record<string, string> = {
    'org.opencontainers.image.title': 'cloak',
    'org.opencontainers.image.description':
      'Cloak: the key broker (cloak serve) and the in-TEE agent (cloak agent init)',
    'org.opencontainers.image.version': src.version,
    'org.opencontainers.image.revision': src.revision,
    'org.opencontainers.image.created': created,
    'org.opencontainers.image.licenses': 'Apache-2.0',
    ...(src.source ? { 'org.opencontainers.image.source': src.source } : {}),
    'dev.cloak.image.node': NODE_PACKAGE.version,
    'dev.cloak.image.debian-packages': inputs.debs
      .map((d) =>
        d.file
          .split('/')
          .pop()!
          .replace(/\.deb$/, ''),
      )
      .join(' '),
  };
  return buildImage(
    OciLayout.create(out),
    tag,
    layers,
    {
      User: `${IMAGE_USER.uid}:${IMAGE_USER.uid}`,
      Entrypoint: ENTRYPOINT,
      Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production', `HOME=/home/${IMAGE_USER.name}`],
      WorkingDir: APP_DIR,
      Labels: annotations,
    },
    { os: 'linux', architecture: 'amd64' },
    { created, annotations },
  );
}
