import type { ErrorKind } from '../lib/index.ts';

/** The error codes of the HTTP server and the kind of failure each is (src/server/http-status.ts maps kinds to HTTP statuses). */
export const SERVER_ERRORS = {
  ADMIN_BODY_INVALID: 'invalid',
  ADMIN_UNAUTHORIZED: 'unauthorized',
  ADMIN_VALUE_INVALID: 'invalid',
  CONFIG_INVALID: 'invalid',
  NOT_FOUND: 'not_found',
  REQUEST_INVALID: 'invalid',
  REQUEST_MEDIA_TYPE: 'unsupported_media_type',
  REQUEST_METHOD_NOT_ALLOWED: 'method_not_allowed',
  REQUEST_PATH_TOO_LONG: 'uri_too_long',
  REQUEST_TOO_DEEP: 'invalid',
  REQUEST_TOO_LARGE: 'too_large',
  REQUEST_URL_INVALID: 'invalid',
} as const satisfies Record<string, ErrorKind>;

type ServerErrors = typeof SERVER_ERRORS;
declare module '../lib/errors.ts' {
  interface ErrorCatalogue extends ServerErrors {}
}
