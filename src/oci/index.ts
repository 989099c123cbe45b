export {
  applyLayer,
  unpackLayers,
  type UnpackLimits,
  DEFAULT_UNPACK_LIMITS,
  type UnpackOptions,
  type UnpackStats,
} from './unpack.ts';
export { entryComponents, linkTarget, resolveInRoot, printable } from './safe-path.ts';
export {
  chain,
  verifyingStream,
  parseOciReference,
  type Descriptor,
  type ImageManifest,
  type ImageConfig,
  MT_MANIFEST,
  MT_CONFIG,
  REF_NAME,
  OciLayout,
} from './layout.ts';
export {
  parsePublicOptions,
  parsePrivateOptions,
  encryptLayerStream,
  decryptLayerStream,
  wrapJwe,
  unwrapJwe,
  wrapForAttestationAgent,
  attestationAgentKid,
  unwrapForAttestationAgent,
  CIPHER,
  ANNOTATION_JWE,
  ANNOTATION_PUBOPTS,
  ANNOTATION_AA,
  type PrivateOptions,
  type PublicOptions,
  type LayerOptions,
  LayerEncryptor,
  LayerDecryptor,
  type DecryptOptions,
} from './ocicrypt.ts';
export {
  encryptImage,
  layerOptions,
  openLayerTar,
  layerKeyResources,
  decryptImage,
  isEncrypted,
  type EncryptOptions,
  type LayerTarCheck,
} from './crypt-image.ts';
export { buildImage, MT_LAYER_GZIP, type ImageMetadata } from './build.ts';
export {
  parseDockerReference,
  type RegistryRef,
  MANIFEST_ACCEPT,
  type RegistryAuth,
  type RegistryOptions,
} from './registry.ts';
export { dockerConfigAuth, CHUNK_SIZE, RegistryClient } from './registry-client.ts';
export { pullToLayout, pushFromLayout } from './transfer.ts';
export { parseImageRef, openImage, imageTarget, type ImageRef, type TransferOptions } from './image-ref.ts';
export {
  parseDockerArchiveReference,
  parseDockerArchiveManifest,
  importDockerArchive,
  type DockerArchiveEntry,
} from './docker-archive.ts';
export {
  parseDescriptor,
  parseManifest,
  parseImageConfig,
  selectPlatform,
  type Platform,
  type ParsedManifest,
} from './manifest.ts';
export { hostPlatform, parsePlatform } from './platform.ts';
export { stepStream, type BlobStep, STAGE_BUFFER } from './blob-step.ts';
export {
  parseByteSize,
  layerLimitsFrom,
  type LayerLimits,
  DEFAULT_LAYER_LIMITS,
  RATIO_FLOOR,
  ENV_MAX_LAYER_SIZE,
  ENV_MAX_LAYER_RATIO,
  ExpansionBudget,
} from './layer-limits.ts';
export { OCI_ERRORS } from './errors.ts';
export { DEFAULT_CAPS, MASKED_PATHS, READONLY_PATHS } from './runtime-defaults.ts';
