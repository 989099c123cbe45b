import type { ErrorKind } from '../lib/index.ts';

/** The error codes of the store and the kind of failure each is (src/server/http-status.ts maps kinds to HTTP statuses). */
export const STORE_ERRORS = {
  STORE_AUDIT_INVALID: 'internal',
  STORE_BUSY: 'unavailable',
  STORE_CLOSED: 'internal',
  STORE_CONFLICT: 'conflict',
  STORE_CORRUPT: 'internal',
  STORE_IO_FAILED: 'unavailable',
  STORE_OPEN_FAILED: 'internal',
  STORE_QUERY_FAILED: 'internal',
  STORE_QUERY_INVALID: 'invalid',
  STORE_SEALING_KEY_INVALID: 'internal',
  STORE_SESSION_INVALID: 'internal',
  STORE_UNAVAILABLE: 'unavailable',
  STORE_UNSEAL_FAILED: 'internal',
  STORE_URL_INVALID: 'invalid',
} as const satisfies Record<string, ErrorKind>;

type StoreErrors = typeof STORE_ERRORS;
declare module '../lib/errors.ts' {
  interface ErrorCatalogue extends StoreErrors {}
}
