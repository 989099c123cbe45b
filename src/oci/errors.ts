import type { ErrorKind } from '../lib/index.ts';

/** The error codes of images and the kind of failure each is (src/server/http-status.ts maps kinds to HTTP statuses). */
export const OCI_ERRORS = {
  OCI_ARCHIVE_INVALID: 'invalid',
  OCI_BLOB_MISSING: 'invalid',
  OCI_BLOB_TOO_LARGE: 'invalid',
  OCI_COMPRESSION_UNSUPPORTED: 'invalid',
  OCI_DIFF_ID_MISMATCH: 'invalid',
  OCI_DIFF_ID_MISSING: 'invalid',
  OCI_DIGEST_INVALID: 'invalid',
  OCI_DIGEST_MISMATCH: 'invalid',
  OCI_ENC_AA_INVALID: 'invalid',
  OCI_ENC_AA_UNWRAP: 'invalid',
  OCI_ENC_CIPHER_UNSUPPORTED: 'invalid',
  OCI_ENC_KEK_INVALID: 'invalid',
  OCI_ENC_KEY_UNSUPPORTED: 'invalid',
  OCI_ENC_NO_KEY: 'invalid',
  OCI_ENC_NO_RECIPIENT: 'invalid',
  OCI_ENC_PRIVOPTS_INVALID: 'invalid',
  OCI_ENC_PUBOPTS_INVALID: 'invalid',
  OCI_ENC_PUBOPTS_MISSING: 'invalid',
  OCI_HMAC_MISMATCH: 'invalid',
  OCI_JSON_INVALID: 'invalid',
  OCI_LAYER_CORRUPT: 'invalid',
  OCI_LAYER_ENTRY_INVALID: 'invalid',
  OCI_LAYER_INDEX_INVALID: 'invalid',
  OCI_LAYER_LINK_INVALID: 'invalid',
  OCI_LAYER_PATH_ESCAPE: 'invalid',
  OCI_LAYER_PATH_INVALID: 'invalid',
  OCI_LAYER_TOO_LARGE: 'too_large',
  OCI_LAYER_WHITEOUT_INVALID: 'invalid',
  OCI_LAYOUT_INVALID: 'invalid',
  OCI_MANIFEST_INVALID: 'invalid',
  OCI_PLATFORM_UNAVAILABLE: 'invalid',
  OCI_REFERENCE_INVALID: 'invalid',
  OCI_REGISTRY_AUTH: 'invalid',
  OCI_REGISTRY_DENIED: 'invalid',
  OCI_REGISTRY_ERROR: 'invalid',
  OCI_REGISTRY_NOT_FOUND: 'invalid',
  OCI_REGISTRY_UNREACHABLE: 'invalid',
  OCI_TAG_UNKNOWN: 'invalid',
  OCI_TRANSPORT_UNSUPPORTED: 'invalid',
  USAGE_DST: 'invalid',
  USAGE_LAYER_LIMIT: 'invalid',
  USAGE_PLATFORM: 'invalid',
} as const satisfies Record<string, ErrorKind>;

type OciErrors = typeof OCI_ERRORS;
declare module '../lib/errors.ts' {
  interface ErrorCatalogue extends OciErrors {}
}
