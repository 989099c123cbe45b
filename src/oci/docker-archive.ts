import {
  createReadStream,
  lstatSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  openSync,
  readSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { CloakError } from '../lib/index.ts';
import { applyLayer } from './unpack.ts';
import { OciLayout, type Descriptor } from './layout.ts';

const MT_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const MT_DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const MT_DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
const MT_DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** `docker-archive:FILE[:REF]` → file and optional image reference inside it. */
export function parseDockerArchiveReference(ref: string): { file: string; ref?: string } {
  const m = /^docker-archive:([^:]+)(?::(.+))?$/.exec(ref);
  if (!m) throw new CloakError('OCI_REFERENCE_INVALID', `"${ref}" is not docker-archive:FILE[:REF]`);
  return { file: m[1]!, ref: m[2] };
}

export interface DockerArchiveEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** The `manifest.json` of a docker-archive: a non-empty list of {Config, RepoTags?, Layers}. */
export function parseDockerArchiveManifest(text: string): DockerArchiveEntry[] {
  const bad = (why: string): never => {
    throw new CloakError('OCI_ARCHIVE_INVALID', `archive manifest.json: ${why}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  if (!Array.isArray(v) || v.length === 0) return bad('lists no image');
  if (v.length > 10_000) bad('lists too many images');
  const strings = (x: unknown) => Array.isArray(x) && x.length <= 10_000 && x.every((s) => typeof s === 'string');
  return v.map((e: unknown, i) => {
    const o = e as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return bad(`entry ${i} is not an object`);
    if (typeof o.Config !== 'string') bad(`entry ${i} has no Config`);
    if (!strings(o.Layers)) bad(`entry ${i} has no Layers list`);
    if (o.RepoTags !== undefined && o.RepoTags !== null && !strings(o.RepoTags))
      bad(`entry ${i}: RepoTags must be strings`);
    return {
      Config: o.Config as string,
      RepoTags: (o.RepoTags as string[] | null) ?? [],
      Layers: o.Layers as string[],
    };
  });
}

/**
 * Reads a `docker save` / skopeo docker-archive tar into an OCI layout as a
 * Docker schema-2 image. The archive is unpacked with the same safe
 * unpacker as image layers; only files named by manifest.json are read, and
 * only when they are regular files inside the archive.
 */
export async function importDockerArchive(
  file: string,
  ref: string | undefined,
  layout: OciLayout,
  tag: string,
): Promise<Descriptor> {
  const root = mkdtempSync(join(tmpdir(), 'cloak-archive-'));
  try {
    await applyLayer(createReadStream(file), root, {
      chown: false,
      limits: { maxEntries: 100_000, maxBytes: 64 * 1024 ** 3 },
    });
    const inside = (name: unknown): string => {
      if (typeof name !== 'string' || name.includes('..') || name.startsWith('/'))
        throw new CloakError('OCI_ARCHIVE_INVALID', `archive names an unsafe path "${String(name).slice(0, 100)}"`);
      let real = '';
      try {
        real = realpathSync(join(root, name));
      } catch {
        /* missing: refused below */
      }
      if (!real.startsWith(realpathSync(root) + sep) || !lstatSync(real).isFile())
        throw new CloakError('OCI_ARCHIVE_INVALID', `archive entry ${name} is not a file inside the archive`);
      return real;
    };
    let text: string;
    try {
      text = readFileSync(inside('manifest.json'), 'utf8');
    } catch (e) {
      if (e instanceof CloakError) throw e;
      throw new CloakError('OCI_ARCHIVE_INVALID', `${file} has no manifest.json (is it a docker-archive?)`);
    }
    const entries = parseDockerArchiveManifest(text);
    const wanted = ref?.startsWith('@')
      ? entries[Number(ref.slice(1))]
      : ref
        ? entries.find((e) =>
            e.RepoTags.some((t) => t === ref || t === `docker.io/library/${ref}` || t === `docker.io/${ref}`),
          )
        : entries.length === 1
          ? entries[0]
          : undefined;
    if (!wanted)
      throw new CloakError(
        'OCI_TAG_UNKNOWN',
        ref
          ? `no image ${ref} in ${file}`
          : `${file} holds ${entries.length} images: name one with docker-archive:FILE:REF`,
      );
    const configBlob = await layout.writeBlob(createReadStream(inside(wanted.Config)));
    const layers: Descriptor[] = [];
    for (const name of wanted.Layers) {
      const path = inside(name);
      const blob = await layout.writeBlob(createReadStream(path));
      layers.push({ mediaType: isGzip(path) ? MT_DOCKER_LAYER_GZIP : MT_DOCKER_LAYER, ...blob });
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: MT_DOCKER_MANIFEST,
      config: { mediaType: MT_DOCKER_CONFIG, ...configBlob },
      layers,
    };
    return layout.tagBytes(tag, Buffer.from(JSON.stringify(manifest)), MT_DOCKER_MANIFEST);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}
