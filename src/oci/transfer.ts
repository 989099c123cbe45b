import { arch } from 'node:os';
import { CloakError } from '../lib/index.ts';
import { OciLayout, type Descriptor, type ImageManifest } from './layout.ts';
import { RegistryClient } from './registry-client.ts';
import type { RegistryOptions, RegistryRef } from './registry.ts';

export interface Platform { os: string; architecture: string }

export function hostPlatform(): Platform {
  const a = arch();
  return { os: 'linux', architecture: a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a };
}

export function parsePlatform(s: string): Platform {
  const m = /^([a-z0-9]+)\/([a-z0-9]+)$/.exec(s);
  if (!m) throw new CloakError('USAGE_PLATFORM', `--platform "${s}" must be OS/ARCH, e.g. linux/amd64`);
  return { os: m[1]!, architecture: m[2]! };
}

/** Pulls an image (resolving an index by platform) into an OCI layout, keeping its manifest bytes and digest. */
export async function pullToLayout(ref: RegistryRef, layout: OciLayout, tag: string, opts: RegistryOptions & { platform?: Platform; onBlob?: (d: Descriptor) => void } = {}): Promise<Descriptor> {
  const client = new RegistryClient(ref, opts);
  let m = await client.getManifest(ref.digest ?? ref.tag ?? 'latest');
  const parsed = JSON.parse(m.body.toString('utf8')) as ImageManifest & { manifests?: Descriptor[] };
  if (parsed.manifests) {
    const p = opts.platform ?? hostPlatform();
    const chosen = parsed.manifests.find((d) => d.platform?.os === p.os && d.platform?.architecture === p.architecture);
    if (!chosen) throw new CloakError('OCI_PLATFORM_UNAVAILABLE', `the image has no ${p.os}/${p.architecture} variant (it has ${parsed.manifests.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).join(', ')})`);
    m = await client.getManifest(chosen.digest);
  }
  const manifest = JSON.parse(m.body.toString('utf8')) as ImageManifest;
  if (!manifest.config || !Array.isArray(manifest.layers)) throw new CloakError('OCI_MANIFEST_INVALID', 'the registry manifest lacks config or layers (schema 1 images are not supported)');
  for (const d of [manifest.config, ...manifest.layers]) {
    if (layout.hasBlob(d)) continue;
    await layout.writeBlob(await client.getBlob(d.digest, d.size));
    opts.onBlob?.(d);
  }
  return layout.tagBytes(tag, m.body, m.mediaType);
}

/** Pushes an image from an OCI layout: blobs the registry lacks (mounted from `mountFrom` when possible), then the manifest. */
export async function pushFromLayout(layout: OciLayout, tag: string | undefined, ref: RegistryRef, opts: RegistryOptions & { mountFrom?: string; onBlob?: (d: Descriptor, how: string) => void } = {}): Promise<string> {
  const client = new RegistryClient(ref, opts);
  const { descriptor, manifest } = layout.resolve(tag);
  for (const d of [manifest.config, ...manifest.layers]) {
    const how = await client.pushBlob(d.digest, d.size, () => layout.openBlob(d), opts.mountFrom);
    opts.onBlob?.(d, how);
  }
  const body = layout.readBytes(descriptor);
  return client.putManifest(ref.digest ?? ref.tag ?? 'latest', body, descriptor.mediaType);
}
