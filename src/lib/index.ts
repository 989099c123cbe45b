export { isCloakError, errorKind, ensure, LIB_ERRORS, CloakError, type ErrorKind, type ErrorCatalogue, type ErrorCode } from './errors.ts';
export { fromHex, fromBase64, constantTimeEqual, padTo, toHex, toBase64, toBase64Url, isAllZero } from './bytes.ts';
export { ByteReader } from './reader.ts';
export { ByteWriter } from './writer.ts';
export { canonicalJson } from './canonical.ts';
export { x509, serialKey, revokedSerials } from './x509.ts';
export { decodeInitData, initDataText, initDataDigest, encodeInitData, initDataDigestHex, type InitDataAlgorithm } from './initdata.ts';
export { isResourcePath, parseResourcePath, resourceOfKbsUri, RESOURCE_SEGMENT, RESOURCE_PATH_PATTERN, kbsUri, type ResourcePath } from './resource-path.ts';
export { drainedAll, OffloadedHash } from './offloaded-hash.ts';
