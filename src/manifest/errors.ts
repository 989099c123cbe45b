import type { ErrorKind } from '../lib/index.ts';

/** The error codes of the workload model and the kind of failure each is (src/server/http-status.ts maps kinds to HTTP statuses). */
export const MANIFEST_ERRORS = {
  INITDATA_SERVER_URL: 'invalid',
  MANIFEST_INVALID: 'invalid',
} as const satisfies Record<string, ErrorKind>;

type ManifestErrors = typeof MANIFEST_ERRORS;
declare module '../lib/errors.ts' {
  interface ErrorCatalogue extends ManifestErrors {}
}
