import { CloakError, LIB_ERRORS, errorKind, type ErrorKind } from '../lib/index.ts';
import { ATTEST_ERRORS } from '../attest/index.ts';
import { MANIFEST_ERRORS } from '../manifest/index.ts';
import { POLICY_ERRORS } from '../policy/index.ts';
import { OCI_ERRORS } from '../oci/index.ts';
import { STORE_ERRORS } from '../store/index.ts';
import { KBS_ERRORS } from '../kbs/index.ts';
import { SERVER_ERRORS } from './errors.ts';

/** The one place a kind of failure becomes an HTTP status. */
export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  internal: 500,
  upstream_failed: 502,
  unavailable: 503,
};

/** The catalogues of every layer whose code runs in the server. */
const CATALOGUE: Readonly<Record<string, ErrorKind>> = {
  ...LIB_ERRORS,
  ...ATTEST_ERRORS,
  ...MANIFEST_ERRORS,
  ...POLICY_ERRORS,
  ...OCI_ERRORS,
  ...STORE_ERRORS,
  ...KBS_ERRORS,
  ...SERVER_ERRORS,
};

/** The HTTP status of any error: a CloakError's kind's, 500 for anything else (or a code no catalogue knows). */
export function httpStatus(e: unknown): number {
  const kind = e instanceof CloakError ? errorKind(e, CATALOGUE) : undefined;
  return HTTP_STATUS[kind ?? 'internal'];
}

/** The kind for an HTTP status Fastify itself gave an error (4xx ones it raises before a route runs). */
export function kindOfStatus(status: number): ErrorKind {
  return (Object.keys(HTTP_STATUS) as ErrorKind[]).find((k) => HTTP_STATUS[k] === status) ?? 'invalid';
}
