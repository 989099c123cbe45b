export {
  isCloakError,
  errorKind,
  ensure,
  type ErrorKind,
  LIB_ERRORS,
  type ErrorCatalogue,
  type ErrorCode,
  CloakError,
} from './errors.ts';
export { fromHex, fromBase64, constantTimeEqual, padTo, toHex, toBase64, toBase64Url, isAllZero } from './bytes.ts';
export { ByteReader } from './reader.ts';
export { ByteWriter } from './writer.ts';
export { canonicalJson } from './canonical.ts';
export { x509, serialKey, revokedSerials, certificateFingerprint } from './x509.ts';
export {
  decodeInitData,
  initDataText,
  readInitData,
  initDataDigest,
  initDataDigestHex,
  encodeInitData,
  INITDATA_ALGORITHMS,
  type InitDataAlgorithm,
  INITDATA_VERSION,
  type InitDataDocument,
} from './initdata.ts';
export {
  isResourcePath,
  parseResourcePath,
  resourceOfKbsUri,
  type ResourcePath,
  RESOURCE_SEGMENT,
  RESOURCE_PATH_PATTERN,
  kbsUri,
} from './resource-path.ts';
export { drainedAll, OffloadedHash } from './offloaded-hash.ts';
