import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { OciLayout, MT_CONFIG, type Descriptor, type ImageConfig } from './layout.ts';

export const MT_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** Builds an image from uncompressed layer tars (gzipped here) and a runtime config; returns the manifest descriptor. */
export async function buildImage(layout: OciLayout, tag: string, layers: Buffer[], config: NonNullable<ImageConfig['config']>, platform = { os: 'linux', architecture: 'amd64' }): Promise<Descriptor> {
  const descriptors: Descriptor[] = [];
  for (const tar of layers) {
    const { digest, size } = await layout.writeBlob(Readable.from([gzipSync(tar)]));
    descriptors.push({ mediaType: MT_LAYER_GZIP, digest, size });
  }
  const imageConfig: ImageConfig = {
    ...platform,
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((t) => 'sha256:' + createHash('sha256').update(t).digest('hex')) },
  };
  const configDesc = layout.writeJson(MT_CONFIG, imageConfig);
  return layout.tag(tag, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers: descriptors });
}
