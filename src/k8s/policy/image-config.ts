import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { CloakError } from '../../lib/index.ts';
import {
  parseImageConfig,
  parseManifest,
  selectPlatform,
  RegistryClient,
  parseDockerReference,
  type ImageConfig as OciImageConfig,
} from '../../oci/index.ts';
import { readImageUsers, type ImageUsers } from './image-users.ts';

/** The parts of an image config the agent policy pins (OCI image config `config` object: entrypoint, cmd, env, user, working dir, volumes). */
export interface ImageConfig extends NonNullable<OciImageConfig['config']> {
  Volumes?: Record<string, unknown> | null;
  /** Not part of the OCI config: the image's /etc/passwd and /etc/group, when they could be read. */
  users?: ImageUsers;
}

/** Finds the config of a pinned image: `image` as the pod names it, `digest` the manifest (or index) digest it is pinned to. */
export type ImageConfigSource = (image: string, digest: string) => Promise<ImageConfig | undefined>;

const MAX_CONFIG = 1 << 20;

function configOf(bytes: Buffer | string, what: string): ImageConfig {
  if (bytes.length > MAX_CONFIG) throw new CloakError('K8S_IMAGE_CONFIG', `${what} is larger than 1 MiB`);
  const parsed = parseImageConfig(bytes, what) as { config?: ImageConfig | null };
  const c = parsed.config ?? {};
  if (c.Volumes !== undefined && c.Volumes !== null && (typeof c.Volumes !== 'object' || Array.isArray(c.Volumes)))
    throw new CloakError('K8S_IMAGE_CONFIG', `${what}: config.Volumes must be an object`);
  return c;
}

/**
 * Offline image configs for air-gapped use and tests: a directory with one
 * file per image, named after the digest the pod pins (`sha256-<hex>.json`),
 * holding the image's OCI config (the blob the manifest's `config` names),
 * and optionally its /etc/passwd and /etc/group as `sha256-<hex>.passwd`
 * and `sha256-<hex>.group`.
 */
export function directoryConfigSource(dir: string): ImageConfigSource {
  return async (_image, digest) => {
    const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
    if (!m) return undefined;
    const file = join(dir, `sha256-${m[1]}.json`);
    if (!existsSync(file)) return undefined;
    const config = configOf(readFileSync(file), file);
    const etc = (ext: string) => {
      const f = join(dir, `sha256-${m[1]}.${ext}`);
      if (!existsSync(f)) return undefined;
      const b = readFileSync(f);
      if (b.length > MAX_CONFIG) throw new CloakError('K8S_IMAGE_CONFIG', `${f} is larger than 1 MiB`);
      return b.toString('utf8');
    };
    const [passwd, group] = [etc('passwd'), etc('group')];
    return passwd !== undefined || group !== undefined ? { ...config, users: { passwd, group } } : config;
  };
}

/** Layers larger than this together are not scanned for /etc/passwd and /etc/group. */
const MAX_SCANNED_LAYERS = 512 * 1024 * 1024;

/** The config from the registry the image comes from (linux/amd64 when the digest names an index). */
export function registryConfigSource(opts: {
  tlsVerify: boolean;
  toDockerRef: (image: string) => string;
}): ImageConfigSource {
  return async (image, digest) => {
    const ref = parseDockerReference(opts.toDockerRef(image.replace(/@sha256:[0-9a-f]{64}$/, '')));
    const client = new RegistryClient(ref, { tlsVerify: opts.tlsVerify, retries: 1 });
    try {
      let parsed = parseManifest((await client.getManifest(digest)).body, `manifest of ${image}`);
      if (parsed.kind === 'index') {
        const entry = selectPlatform(parsed.manifests, { os: 'linux', architecture: 'amd64' });
        parsed = parseManifest((await client.getManifest(entry.digest)).body, `manifest of ${image}`);
      }
      if (parsed.kind !== 'manifest') throw new CloakError('K8S_IMAGE_CONFIG', `${image}: an index inside an index`);
      const d = parsed.manifest.config;
      if (d.size > MAX_CONFIG) throw new CloakError('K8S_IMAGE_CONFIG', `config of ${image} is larger than 1 MiB`);
      const config = configOf(await text(await client.getBlob(d.digest, d.size)), `config of ${image}`);
      const layers = parsed.manifest.layers;
      if (layers.reduce((n, l) => n + l.size, 0) > MAX_SCANNED_LAYERS) return config;
      const users = await readImageUsers(
        layers.map((l) => ({ mediaType: l.mediaType, open: () => client.getBlob(l.digest, l.size) })),
      );
      return users ? { ...config, users } : config;
    } catch (e) {
      throw new CloakError(
        'K8S_IMAGE_CONFIG',
        `cannot read the image config of ${image}: ${(e as Error).message} (give --image-configs DIR for offline use)`,
        { cause: e },
      );
    }
  };
}

/** Tries the sources in order; the first that knows the image wins. */
export function firstConfigSource(...sources: Array<ImageConfigSource | undefined>): ImageConfigSource {
  return async (image, digest) => {
    for (const s of sources) {
      const c = s && (await s(image, digest));
      if (c) return c;
    }
    return undefined;
  };
}
