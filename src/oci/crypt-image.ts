import type { KeyObject } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { CloakError } from '../lib/index.ts';
import { OciLayout, chain, verifyingStream, type Descriptor, type ImageManifest } from './layout.ts';
import { DEFAULT_LAYER_LIMITS, ExpansionBudget, type LayerLimits } from './layer-limits.ts';
import {
  ANNOTATION_AA,
  ANNOTATION_JWE,
  ANNOTATION_PUBOPTS,
  decryptLayerStream,
  LayerDecryptor,
  LayerEncryptor,
  parsePublicOptions,
  unwrapJwe,
  wrapJwe,
  wrapForAttestationAgent,
  attestationAgentKid,
  unwrapForAttestationAgent,
  type PrivateOptions,
} from './ocicrypt.ts';

const ENC = '+encrypted';
const DOCKER_TO_OCI: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.docker.container.image.v1+json': 'application/vnd.oci.image.config.v1+json',
};
/** The manifest written is an OCI one, so Docker media types become their OCI equivalents (as skopeo does). */
const toOci = (d: Descriptor): Descriptor =>
  DOCKER_TO_OCI[d.mediaType] ? { ...d, mediaType: DOCKER_TO_OCI[d.mediaType]! } : d;

export const isEncrypted = (d: Descriptor): boolean => d.mediaType.endsWith(ENC);

export interface EncryptOptions {
  recipients?: KeyObject[]; // jwe: public keys
  attestationAgent?: { kek: Buffer; kid: string }; // kid = kbs:///repo/key/tag
  /** Which layers: all, or their indices. */
  layers?: 'all' | number[];
}

/** Encrypts an image's layers as ocicrypt does; config and diff IDs stay unchanged. */
export async function encryptImage(
  src: OciLayout,
  srcTag: string | undefined,
  dst: OciLayout,
  dstTag: string,
  opts: EncryptOptions,
): Promise<{ manifest: Descriptor; encrypted: number }> {
  if (!opts.recipients?.length && !opts.attestationAgent)
    throw new CloakError(
      'OCI_ENC_NO_RECIPIENT',
      'give at least one recipient (jwe:PUBKEY.pem) or a Cloak server for the attestation-agent key',
    );
  const { manifest } = src.resolve(srcTag);
  const outOfRange = Array.isArray(opts.layers) ? opts.layers.filter((i) => i >= manifest.layers.length) : [];
  if (outOfRange.length)
    throw new CloakError(
      'OCI_LAYER_INDEX_INVALID',
      `the image has ${manifest.layers.length} layer(s); there is no layer ${outOfRange.join(', ')}`,
    );
  const layers: Descriptor[] = [];
  let encrypted = 0;
  for (const [i, layer] of manifest.layers.entries()) {
    const want = opts.layers === undefined || opts.layers === 'all' || opts.layers.includes(i);
    if (!want || isEncrypted(layer)) {
      await copyBlob(src, dst, layer);
      layers.push(toOci(layer));
      continue;
    }
    const enc = new LayerEncryptor(layer.digest); // writeBlobThrough verifies the plaintext against it
    const written = await dst.writeBlobThrough(src, layer, enc);
    const { priv, pub } = await enc.result;
    const annotations: Record<string, string> = {
      ...(layer.annotations ?? {}),
      [ANNOTATION_PUBOPTS]: Buffer.from(JSON.stringify(pub)).toString('base64'),
    };
    if (opts.recipients?.length)
      annotations[ANNOTATION_JWE] = (await Promise.all(opts.recipients.map((k) => wrapJwe(priv, k)))).join(',');
    if (opts.attestationAgent)
      annotations[ANNOTATION_AA] = wrapForAttestationAgent(priv, opts.attestationAgent.kek, opts.attestationAgent.kid);
    layers.push({
      mediaType: (DOCKER_TO_OCI[layer.mediaType] ?? layer.mediaType) + ENC,
      digest: written.digest,
      size: written.size,
      annotations,
    });
    encrypted++;
  }
  return { manifest: await writeManifest(src, dst, dstTag, manifest, layers), encrypted };
}

/** Unwraps a layer's options: with a JWE private key, or with KEKs fetched from the KBS. */
export async function layerOptions(
  layer: Descriptor,
  keys: { privateKey?: KeyObject; keks?: Map<string, Buffer> },
): Promise<PrivateOptions> {
  const a = layer.annotations ?? {};
  if (keys.keks && a[ANNOTATION_AA]) {
    const kid = attestationAgentKid(a[ANNOTATION_AA]);
    const kek = keys.keks.get(kid);
    if (!kek) throw new CloakError('OCI_ENC_NO_KEY', `no key-encryption key ${kid} for layer ${layer.digest}`);
    return unwrapForAttestationAgent(a[ANNOTATION_AA], kek);
  }
  if (keys.privateKey && a[ANNOTATION_JWE]) return unwrapJwe(a[ANNOTATION_JWE], keys.privateKey);
  throw new CloakError('OCI_ENC_NO_KEY', `layer ${layer.digest} has no recipient this key can open`);
}

export interface LayerTarCheck {
  /** The image config's `rootfs.diff_ids` and the layer's position in the manifest. */
  diffIds: string[];
  index: number;
  limits?: LayerLimits;
}

/**
 * The uncompressed tar of layer `index`, for unpacking: decrypted when
 * encrypted (HMAC and digests checked), inflated within `limits`, and
 * failing at its end unless it has the config's diff_id (hashed as it
 * streams, no second read). The consumer must fail as a whole on a stream
 * error (`unpackLayers` removes the rootfs), so nothing of a layer that
 * fails a check stays usable.
 */
export async function openLayerTar(
  layout: OciLayout,
  layer: Descriptor,
  keys: { privateKey?: KeyObject; keks?: Map<string, Buffer> },
  check: LayerTarCheck,
): Promise<Readable> {
  const limits = check.limits ?? DEFAULT_LAYER_LIMITS;
  const what = `layer ${check.index} (${layer.digest})`;
  const diffId = check.diffIds[check.index];
  if (diffId === undefined)
    throw new CloakError(
      'OCI_DIFF_ID_MISSING',
      `the image config lists no diff_id for ${what}: refusing a layer it cannot check`,
    );
  const mismatch = (actual: string) =>
    new CloakError(
      'OCI_DIFF_ID_MISMATCH',
      `${what} unpacks to ${actual}, but the image config's diff_id is ${diffId}: the layer or the config was altered`,
    );
  const mt = layer.mediaType.replace(ENC, '');
  if (/zstd/.test(mt)) throw new CloakError('OCI_COMPRESSION_UNSUPPORTED', 'zstd layers are not supported yet');
  const gzip = /gzip/.test(mt);
  const budget = new ExpansionBudget(layer.size, limits, what);
  const inflateChecked = (blob: Readable) =>
    chain(blob, createGunzip(), verifyingStream(diffId, undefined, { count: (n) => budget.add(n), mismatch }));
  if (!isEncrypted(layer)) {
    if (gzip) return inflateChecked(layout.openBlob(layer));
    // The blob is the tar, and openBlob checks it against its digest: that must be the diff_id.
    if (layer.digest !== diffId) throw mismatch(layer.digest);
    budget.add(layer.size);
    return layout.openBlob(layer);
  }
  const pub = parsePublicOptions(layer.annotations?.[ANNOTATION_PUBOPTS]);
  const priv = await layerOptions(layer, keys);
  if (gzip) {
    // skopeo's options name the uncompressed digest, which the diff_id check covers: no second inflation in the decryptor.
    return inflateChecked(
      chain(layout.openBlob(layer), decryptLayerStream(priv, pub, { inflatedCheckedByCaller: priv.digest === diffId })),
    );
  }
  // The plaintext is the tar, and the decryptor checks it against the options' digest: that must be the diff_id.
  if (priv.digest !== diffId) throw mismatch(priv.digest);
  budget.add(layer.size);
  return chain(layout.openBlob(layer), decryptLayerStream(priv, pub));
}

/** The KBS resources (repo/type/tag) holding the KEKs of an image's attestation-agent layers. */
export function layerKeyResources(layer: Descriptor): string[] {
  const a = layer.annotations?.[ANNOTATION_AA];
  return a ? [attestationAgentKid(a)] : [];
}

/**
 * Decrypts every encrypted layer into `dst` (like skopeo's --decryption-key); nothing is tagged unless all succeed.
 * A gzip layer whose options name its uncompressed digest (skopeo) is inflated to check it, within `limits`.
 */
export async function decryptImage(
  src: OciLayout,
  srcTag: string | undefined,
  dst: OciLayout,
  dstTag: string,
  keys: { privateKey?: KeyObject; keks?: Map<string, Buffer> },
  limits: LayerLimits = DEFAULT_LAYER_LIMITS,
): Promise<{ manifest: Descriptor; decrypted: number }> {
  const { manifest, config } = src.resolve(srcTag);
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers: Descriptor[] = [];
  let decrypted = 0;
  for (const layer of manifest.layers) {
    if (!isEncrypted(layer)) {
      await copyBlob(src, dst, layer);
      layers.push(toOci(layer));
      continue;
    }
    const pub = parsePublicOptions(layer.annotations?.[ANNOTATION_PUBOPTS]);
    const priv = await layerOptions(layer, keys);
    // The options name the blob (Cloak) or, for gzip, maybe its inflated content (skopeo): inflate only when the diff IDs hold that digest.
    const decryptor = new LayerDecryptor(
      priv,
      pub,
      /gzip/.test(layer.mediaType) && diffIds.includes(priv.digest)
        ? { inflate: { compressedSize: layer.size, limits } }
        : {},
    );
    const written = await dst.writeBlobThrough(src, layer, decryptor, decryptor.plainDigest);
    const annotations = Object.fromEntries(
      Object.entries(layer.annotations ?? {}).filter(([k]) => !k.startsWith('org.opencontainers.image.enc.')),
    );
    layers.push({
      mediaType: layer.mediaType.slice(0, -ENC.length),
      digest: written.digest,
      size: written.size,
      ...(Object.keys(annotations).length ? { annotations } : {}),
    });
    decrypted++;
  }
  return { manifest: await writeManifest(src, dst, dstTag, manifest, layers), decrypted };
}

/** Copies the config and tags an OCI manifest of `layers` with the source's config and annotations. */
async function writeManifest(
  src: OciLayout,
  dst: OciLayout,
  dstTag: string,
  manifest: ImageManifest,
  layers: Descriptor[],
): Promise<Descriptor> {
  await copyBlob(src, dst, manifest.config);
  const out: ImageManifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: toOci(manifest.config),
    layers,
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  };
  return dst.tag(dstTag, out);
}

async function copyBlob(src: OciLayout, dst: OciLayout, d: Descriptor): Promise<void> {
  if (src.dir === dst.dir) return;
  if (dst.hasBlob(d)) return;
  await dst.writeBlob(src.openBlob(d), d.digest); // openBlob fails unless the bytes have d.digest
}
