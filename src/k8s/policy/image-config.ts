import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { CloakError } from '../../lib/index.ts';
import { parseImageConfig, parseManifest, selectPlatform, RegistryClient, parseDockerReference } from '../../oci/index.ts';

/** The parts of an image config the agent policy pins (OCI image config `config` object). */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Volumes?: Record<string, unknown> | null;
}

/** Finds the config of a pinned image: `image` as the pod names it, `digest` the manifest (or index) digest it is pinned to. */
export type ImageConfigSource = (image: string, digest: string) => Promise<ImageConfig | undefined>;

const MAX_CONFIG = 1 << 20;

function configOf(bytes: Buffer | string, what: string): ImageConfig {
  if (bytes.length > MAX_CONFIG) throw new CloakError('K8S_IMAGE_CONFIG', `${what} is larger than 1 MiB`);
  const parsed = parseImageConfig(bytes, what) as { config?: ImageConfig | null };
  const c = parsed.config ?? {};
  if (c.Volumes !== undefined && c.Volumes !== null && (typeof c.Volumes !== 'object' || Array.isArray(c.Volumes))) throw new CloakError('K8S_IMAGE_CONFIG', `${what}: config.Volumes must be an object`);
  return c;
}

/**
 * Offline image configs for air-gapped use and tests: a directory with one
 * file per image, named after the digest the pod pins (`sha256-<hex>.json`),
 * holding the image's OCI config (the blob the manifest's `config` names).
 */
export function directoryConfigSource(dir: string): ImageConfigSource {
  return async (_image, digest) => {
    const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
    if (!m) return undefined;
    const file = join(dir, `sha256-${m[1]}.json`);
    if (!existsSync(file)) return undefined;
    return configOf(readFileSync(file), file);
  };
}

/** The config from the registry the image comes from (linux/amd64 when the digest names an index). */
export function registryConfigSource(opts: { tlsVerify: boolean; toDockerRef: (image: string) => string }): ImageConfigSource {
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
      return configOf(await text(await client.getBlob(d.digest, d.size)), `config of ${image}`);
    } catch (e) {
      throw new CloakError('K8S_IMAGE_CONFIG', `cannot read the image config of ${image}: ${(e as Error).message} (give --image-configs DIR for offline use)`, { cause: e });
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
