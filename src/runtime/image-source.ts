import {
  openImage,
  parseImageRef,
  openLayerTar,
  layerKeyResources,
  type LayerLimits,
  type TransferOptions,
} from '../oci/index.ts';
import type { RunnableImage } from './run.ts';

/** Opens an image reference for `cloak run` (pulling docker:// into a temp layout): config, digest, and layers that decrypt with keys from the KBS. */
export async function openRunnableImage(
  reference: string,
  opts: TransferOptions & { layerLimits?: LayerLimits } = {},
): Promise<RunnableImage & { cleanup(): void }> {
  const source = await openImage(parseImageRef(reference), opts);
  try {
    const { descriptor, manifest, config } = source.layout.resolve(source.tag);
    const diffIds = config.rootfs?.diff_ids ?? [];
    return {
      reference,
      manifestDigest: descriptor.digest,
      config: config.config ?? {},
      layers: manifest.layers.map((layer, index) => ({
        digest: layer.digest,
        keyResources: layerKeyResources(layer),
        open: (keys: Map<string, Buffer>) =>
          openLayerTar(source.layout, layer, { keks: keys }, { diffIds, index, limits: opts.layerLimits }),
      })),
      cleanup: source.cleanup,
    };
  } catch (e) {
    source.cleanup();
    throw e;
  }
}
