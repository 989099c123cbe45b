/**
 * Builds Cloak's image from this checkout into an OCI layout, reproducibly: the same commit and the
 * same cache give the same manifest digest (layers' mtime is the commit time, or SOURCE_DATE_EPOCH).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OciLayout, type Descriptor } from '../../src/oci/index.ts';
import { assembleImage, type ImageSource } from './assemble.ts';
import { gatherInputs } from './inputs.ts';

export interface BuildOptions {
  repo: string;
  out: string;
  tag: string;
  cache: string;
  build?: boolean;
  log?: (s: string) => void;
}
export interface BuiltImage {
  descriptor: Descriptor;
  compressedSize: number;
  source: ImageSource;
}

const git = (repo: string, ...args: string[]): string | undefined => {
  const r = spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

/** Revision, time and source URL of the checkout; a tree with uncommitted changes is marked `-dirty`. */
export function imageSource(repo: string, env: NodeJS.ProcessEnv = process.env): ImageSource {
  const head = git(repo, 'rev-parse', 'HEAD');
  if (!head)
    throw new Error(`${repo} is not a git checkout: the image records its commit (org.opencontainers.image.revision)`);
  const dirty = (git(repo, 'status', '--porcelain', '--untracked-files=no') ?? '') !== '';
  const epoch = env.SOURCE_DATE_EPOCH ?? git(repo, 'log', '-1', '--format=%ct');
  const created = Number(epoch);
  if (!Number.isInteger(created) || created < 0)
    throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, not "${epoch}"`);
  const origin = env.CLOAK_IMAGE_SOURCE ?? git(repo, 'config', '--get', 'remote.origin.url');
  const source = origin && /^https?:\/\//.test(origin) ? origin.replace(/\.git$/, '') : env.CLOAK_IMAGE_SOURCE;
  const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
  return { repo, created, revision: dirty ? `${head}-dirty` : head, source, version };
}

export async function buildCloakImage(o: BuildOptions): Promise<BuiltImage> {
  const log = o.log ?? (() => {});
  const source = imageSource(o.repo);
  if (source.revision.endsWith('-dirty'))
    log(`note: uncommitted changes; the image is built from the working tree and marked ${source.revision}`);
  if (o.build !== false) {
    log('building the CLI: npm run build');
    const r = spawnSync(process.execPath, ['scripts/build.mjs'], {
      cwd: o.repo,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.status !== 0) throw new Error('npm run build failed');
  }
  const inputs = gatherInputs(o.repo, o.cache, log);
  rmSync(o.out, { recursive: true, force: true });
  log(`assembling the layers into oci:${o.out}:${o.tag}`);
  const descriptor = await assembleImage(inputs, source, o.out, o.tag);
  const manifest = OciLayout.open(o.out).readJson<{ config: Descriptor; layers: Descriptor[] }>(descriptor);
  const compressedSize = manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
  return { descriptor, compressedSize, source };
}
