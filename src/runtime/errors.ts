import type { ErrorKind } from '../lib/index.ts';

/** The error codes of the local runner and the kind of failure each is (src/server/http-status.ts maps kinds to HTTP statuses). */
export const RUNTIME_ERRORS = {
  RUNTIME_NOT_ROOT: 'invalid',
  RUNTIME_NO_ID_RANGE: 'invalid',
  RUNTIME_NO_RUNC: 'invalid',
  RUNTIME_RUNC_FAILED: 'invalid',
  RUNTIME_RUN_ROOT_NOT_MEMORY: 'invalid',
  RUNTIME_RUN_ROOT_UNSAFE: 'invalid',
  RUNTIME_USER_TABLE_UNSAFE: 'invalid',
  RUNTIME_USER_UNKNOWN: 'invalid',
  RUNTIME_USER_UNMAPPED: 'invalid',
  RUN_IMAGE_MISMATCH: 'invalid',
} as const satisfies Record<string, ErrorKind>;

type RuntimeErrors = typeof RUNTIME_ERRORS;
declare module '../lib/errors.ts' {
  interface ErrorCatalogue extends RuntimeErrors {}
}
