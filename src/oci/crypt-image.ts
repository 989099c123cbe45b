import type { KeyObject } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { CloakError } from '../lib/index.ts';
import { OciLayout, chain, type Descriptor, type ImageManifest } from './layout.ts';
import {
  ANNOTATION_AA, ANNOTATION_JWE, ANNOTATION_PUBOPTS, decryptLayerStream, LayerDecryptor, LayerEncryptor, parsePublicOptions,
  unwrapJwe, wrapJwe, wrapForAttestationAgent, attestationAgentKid, unwrapForAttestationAgent, type PrivateOptions,
} from './ocicrypt.ts';

const ENC = '+encrypted';
const DOCKER_TO_OCI: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.docker.container.image.v1+json': 'application/vnd.oci.image.config.v1+json',
};
/** The manifest written is an OCI one, so Docker media types become their OCI equivalents (as skopeo does). */
const toOci = (d: Descriptor): Descriptor => (DOCKER_TO_OCI[d.mediaType] ? { ...d, mediaType: DOCKER_TO_OCI[d.mediaType]! } : d);

export const isEncrypted = (d: Descriptor): boolean => d.mediaType.endsWith(ENC);

export interface EncryptOptions {
  recipients?: KeyObject[]; // jwe: public keys
  attestationAgent?: { kek: Buffer; kid: string }; // kid = kbs:///repo/key/tag
  /** Which layers: all, or their indices. */
  layers?: 'all' | number[];
}

/** Encrypts an image's layers as ocicrypt does; config and diff IDs stay unchanged. */
export async function encryptImage(src: OciLayout, srcTag: string | undefined, dst: OciLayout, dstTag: string, opts: EncryptOptions): Promise<{ manifest: Descriptor; encrypted: number }> {
  if (!opts.recipients?.length && !opts.attestationAgent) throw new CloakError('OCI_ENC_NO_RECIPIENT', 'give at least one recipient (jwe:PUBKEY.pem) or a Cloak server for the attestation-agent key');
  const { manifest } = src.resolve(srcTag);
  const outOfRange = Array.isArray(opts.layers) ? opts.layers.filter((i) => i >= manifest.layers.length) : [];
  if (outOfRange.length) throw new CloakError('OCI_LAYER_INDEX_INVALID', `the image has ${manifest.layers.length} layer(s); there is no layer ${outOfRange.join(', ')}`);
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
    const annotations: Record<string, string> = { ...(layer.annotations ?? {}), [ANNOTATION_PUBOPTS]: Buffer.from(JSON.stringify(pub)).toString('base64') };
    if (opts.recipients?.length) annotations[ANNOTATION_JWE] = (await Promise.all(opts.recipients.map((k) => wrapJwe(priv, k)))).join(',');
    if (opts.attestationAgent) annotations[ANNOTATION_AA] = wrapForAttestationAgent(priv, opts.attestationAgent.kek, opts.attestationAgent.kid);
    layers.push({ mediaType: (DOCKER_TO_OCI[layer.mediaType] ?? layer.mediaType) + ENC, digest: written.digest, size: written.size, annotations });
    encrypted++;
  }
  await copyBlob(src, dst, manifest.config);
  const out: ImageManifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: toOci(manifest.config), layers, ...(manifest.annotations ? { annotations: manifest.annotations } : {}) };
  return { manifest: dst.tag(dstTag, out), encrypted };
}

/** Unwraps a layer's options: with a JWE private key, or with KEKs fetched from the KBS. */
export async function layerOptions(layer: Descriptor, keys: { privateKey?: KeyObject; keks?: Map<string, Buffer> }): Promise<PrivateOptions> {
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

/**
 * The plain blob of a layer (decrypted when encrypted); the stream errors on
 * HMAC or digest mismatch. `diffIds` (the image config's) spare inflating a
 * gzip layer whose options name the blob itself.
 */
export async function openPlainBlob(layout: OciLayout, layer: Descriptor, keys: { privateKey?: KeyObject; keks?: Map<string, Buffer> }, diffIds?: string[]): Promise<Readable> {
  if (!isEncrypted(layer)) return layout.openBlob(layer);
  return chain(layout.openBlob(layer), decryptLayerStream(...(await decryptorArgs(layer, keys, diffIds))));
}

/**
 * The decryptor for a layer. For a gzip layer the options may name the
 * uncompressed digest (skopeo's images), checked by inflating; when the
 * image config is at hand and its diff IDs do not hold that digest, the
 * options name the blob itself and inflating would be wasted.
 */
async function decryptorArgs(layer: Descriptor, keys: { privateKey?: KeyObject; keks?: Map<string, Buffer> }, diffIds?: string[]): Promise<ConstructorParameters<typeof LayerDecryptor>> {
  const pub = parsePublicOptions(layer.annotations?.[ANNOTATION_PUBOPTS]);
  const priv = await layerOptions(layer, keys);
  return [priv, pub, { gzip: /gzip/.test(layer.mediaType) && (diffIds === undefined || diffIds.includes(priv.digest)) }];
}

/** The uncompressed tar of a layer, for unpacking; pass the config's `diffIds` when at hand (see openPlainBlob). */
export async function openLayerTar(layout: OciLayout, layer: Descriptor, keys: { privateKey?: KeyObject; keks?: Map<string, Buffer> }, diffIds?: string[]): Promise<Readable> {
  const blob = await openPlainBlob(layout, layer, keys, diffIds);
  const mt = layer.mediaType.replace(ENC, '');
  if (/zstd/.test(mt)) throw new CloakError('OCI_COMPRESSION_UNSUPPORTED', 'zstd layers are not supported yet');
  if (!/gzip/.test(mt)) return blob;
  return chain(blob, createGunzip());
}

/** The KBS resources (repo/type/tag) holding the KEKs of an image's attestation-agent layers. */
export function layerKeyResources(layer: Descriptor): string[] {
  const a = layer.annotations?.[ANNOTATION_AA];
  return a ? [attestationAgentKid(a)] : [];
}

/** Decrypts every encrypted layer into `dst` (like skopeo's --decryption-key); nothing is tagged unless all succeed. */
export async function decryptImage(src: OciLayout, srcTag: string | undefined, dst: OciLayout, dstTag: string, keys: { privateKey?: KeyObject; keks?: Map<string, Buffer> }): Promise<{ manifest: Descriptor; decrypted: number }> {
  const { manifest, config } = src.resolve(srcTag);
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers: Descriptor[] = [];
  let decrypted = 0;
  for (const layer of manifest.layers) {
    if (!isEncrypted(layer)) { await copyBlob(src, dst, layer); layers.push(toOci(layer)); continue; }
    const decryptor = new LayerDecryptor(...(await decryptorArgs(layer, keys, diffIds)));
    const written = await dst.writeBlobThrough(src, layer, decryptor, decryptor.plainDigest);
    const annotations = Object.fromEntries(Object.entries(layer.annotations ?? {}).filter(([k]) => !k.startsWith('org.opencontainers.image.enc.')));
    layers.push({ mediaType: layer.mediaType.slice(0, -ENC.length), digest: written.digest, size: written.size, ...(Object.keys(annotations).length ? { annotations } : {}) });
    decrypted++;
  }
  await copyBlob(src, dst, manifest.config);
  const out: ImageManifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: toOci(manifest.config), layers, ...(manifest.annotations ? { annotations: manifest.annotations } : {}) };
  return { manifest: dst.tag(dstTag, out), decrypted };
}

async function copyBlob(src: OciLayout, dst: OciLayout, d: Descriptor): Promise<void> {
  if (src.dir === dst.dir) return;
  if (dst.hasBlob(d)) return;
  await dst.writeBlob(src.openBlob(d), d.digest); // openBlob fails unless the bytes have d.digest
}

