import { CloakError } from '../lib/index.ts';
import { OciLayout, type Descriptor } from './layout.ts';
import { parseManifest, selectPlatform, type Platform } from './manifest.ts';
import { hostPlatform } from './platform.ts';
import { RegistryClient } from './registry-client.ts';
import type { RegistryOptions, RegistryRef } from './registry.ts';

/** Pulls an image (resolving an index by platform) into an OCI layout, keeping its manifest bytes and digest. */
export async function pullToLayout(
  ref: RegistryRef,
  layout: OciLayout,
  tag: string,
  opts: RegistryOptions & { platform?: Platform; onBlob?: (d: Descriptor) => void } = {},
): Promise<Descriptor> {
  const client = new RegistryClient(ref, opts);
  let m = await client.getManifest(ref.digest ?? ref.tag ?? 'latest');
  let parsed = parseManifest(m.body, `manifest of ${ref.repository}`);
  if (parsed.kind === 'index') {
    m = await client.getManifest(selectPlatform(parsed.manifests, opts.platform ?? hostPlatform()).digest);
    parsed = parseManifest(m.body, `manifest of ${ref.repository}`);
    if (parsed.kind === 'index')
      throw new CloakError('OCI_MANIFEST_INVALID', 'an index inside an index is not supported');
  }
  const manifest = parsed.manifest;
  for (const d of [manifest.config, ...manifest.layers]) {
    if (layout.hasBlob(d)) continue;
    await layout.writeBlob(await client.getBlob(d.digest, d.size), d.digest); // getBlob verifies it
    opts.onBlob?.(d);
  }
  return layout.tagBytes(tag, m.body, m.mediaType);
}

/** Pushes an image from an OCI layout: blobs the registry lacks (mounted from `mountFrom` when possible), then the manifest. */
export async function pushFromLayout(
  layout: OciLayout,
  tag: string | undefined,
  ref: RegistryRef,
  opts: RegistryOptions & { mountFrom?: string; onBlob?: (d: Descriptor, how: string) => void } = {},
): Promise<string> {
  const client = new RegistryClient(ref, opts);
  const { descriptor, manifest } = layout.resolve(tag);
  for (const d of [manifest.config, ...manifest.layers]) {
    const how = await client.pushBlob(d.digest, d.size, () => layout.openBlob(d), opts.mountFrom);
    opts.onBlob?.(d, how);
  }
  const body = layout.readBytes(descriptor);
  return client.putManifest(ref.digest ?? ref.tag ?? 'latest', body, descriptor.mediaType);
}
