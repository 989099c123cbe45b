import { CloakError } from '../lib/index.ts';
import { OciLayout, parseOciReference, openLayerTar, layerKeyResources } from '../oci/index.ts';
import type { RunnableImage } from './run.ts';

/** Opens an image reference for `cloak run`: its config, digest, and layers that decrypt with keys from the KBS. */
export function openRunnableImage(reference: string): RunnableImage {
  if (!reference.startsWith('oci:')) throw new CloakError('RUN_TRANSPORT_UNSUPPORTED', `cloak run reads oci:DIR[:TAG] images; copy others first (cloak convert SRC oci:DIR:TAG)`);
  const { dir, tag } = parseOciReference(reference);
  const layout = OciLayout.open(dir);
  const { descriptor, manifest, config } = layout.resolve(tag);
  return {
    reference,
    manifestDigest: descriptor.digest,
    config: config.config ?? {},
    layers: manifest.layers.map((layer) => ({
      digest: layer.digest,
      keyResources: layerKeyResources(layer),
      open: (keys: Map<string, Buffer>) => openLayerTar(layout, layer, { keks: keys }),
    })),
  };
}
