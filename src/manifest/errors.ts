import type { ErrorKind } from '../lib/index.ts';

/** The error codes of the workload model and the kind of failure each is (src/server/http-status.ts maps kinds to HTTP statuses). */
export const MANIFEST_ERRORS = {
  INITDATA_IMAGE_POLICY: 'invalid',
  INITDATA_SERVER_CERT: 'invalid',
  INITDATA_SERVER_URL: 'invalid',
  MANIFEST_INVALID: 'invalid',
  SEALED_SECRET_INVALID: 'invalid',
  SEALED_SECRET_KEY: 'invalid',
  SEALED_SECRET_RESOURCE: 'invalid',
  SEALED_SECRET_SIGNATURE: 'invalid',
} as const satisfies Record<string, ErrorKind>;

type ManifestErrors = typeof MANIFEST_ERRORS;
declare module '../lib/errors.ts' {
  interface ErrorCatalogue extends ManifestErrors {}
}
