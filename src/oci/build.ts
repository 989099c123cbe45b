import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { OciLayout, MT_CONFIG, type Descriptor, type ImageConfig } from './layout.ts';

export const MT_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** What a published image carries besides its layers and runtime config (kept out when absent, so tests' images stay as they were). */
export interface ImageMetadata {
  created?: string;
  annotations?: Record<string, string>;
}

/** Builds an image from uncompressed layer tars (gzipped here) and a runtime config; returns the manifest descriptor. */
export async function buildImage(
  layout: OciLayout,
  tag: string,
  layers: Buffer[],
  config: NonNullable<ImageConfig['config']>,
  platform = { os: 'linux', architecture: 'amd64' },
  meta: ImageMetadata = {},
): Promise<Descriptor> {
  const descriptors: Descriptor[] = [];
  for (const tar of layers) {
    const { digest, size } = await layout.writeBlob(Readable.from([gzipSync(tar)]));
    descriptors.push({ mediaType: MT_LAYER_GZIP, digest, size });
  }
  const imageConfig: ImageConfig = {
    ...(meta.created ? { created: meta.created } : {}),
    ...platform,
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((t) => 'sha256:' + createHash('sha256').update(t).digest('hex')) },
  };
  const configDesc = layout.writeJson(MT_CONFIG, imageConfig);
  return layout.tag(tag, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: configDesc,
    layers: descriptors,
    ...(meta.annotations ? { annotations: meta.annotations } : {}),
  });
}
