/**
 * What kind of failure an error is. Each layer's catalogue (src/<layer>/errors.ts)
 * gives every code one kind; src/server/http-status.ts maps kinds to HTTP statuses.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'too_large'
  | 'uri_too_long'
  | 'unsupported_media_type'
  | 'internal'
  | 'upstream_failed'
  | 'unavailable';

/** The error codes of src/lib and the kind of failure each is. */
export const LIB_ERRORS = {
  BAD_BASE64: 'invalid',
  BAD_HEX: 'invalid',
  BYTES_TOO_LONG: 'invalid',
  CANONICAL_JSON: 'invalid',
  HASH_FINISHED: 'invalid',
  HASH_WORKER_FAILED: 'invalid',
  INITDATA_ALGORITHM: 'invalid',
  INITDATA_ENCODING: 'invalid',
  INITDATA_ENTRY: 'invalid',
  INITDATA_INVALID: 'invalid',
  KBS_RESOURCE_PATH_INVALID: 'invalid',
  TLS_CERT_INVALID: 'invalid',
} as const satisfies Record<string, ErrorKind>;

type LibErrors = typeof LIB_ERRORS;
/**
 * Every error code of Cloak and its kind. lib holds its own codes; each layer
 * adds its catalogue by declaration merging (`declare module '../lib/errors.ts'`
 * in src/<layer>/errors.ts), so lib imports nothing above it and an unknown
 * code is a type error.
 */
export interface ErrorCatalogue extends LibErrors {}
export type ErrorCode = keyof ErrorCatalogue;

/**
 * The one error type of Cloak. `code` is stable (callers switch on it) and
 * names a catalogue entry, `message` says what a person can do. `kind` is
 * set only where the context decides what the failure is (evidence that does
 * not verify is unauthorized at the broker, whatever the verifier's code says);
 * otherwise the code's catalogue entry says.
 */
export class CloakError extends Error {
  readonly code: ErrorCode;
  readonly kind?: ErrorKind;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { kind?: ErrorKind; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CloakError';
    this.code = code;
    if (options.kind !== undefined) this.kind = options.kind;
    this.details = options.details;
  }
}

export function isCloakError(e: unknown, code?: string): e is CloakError {
  return e instanceof CloakError && (code === undefined || e.code === code);
}

/** The kind of failure `e` is: the kind it was thrown with, else its code's entry in `catalogue`. */
export function errorKind(e: CloakError, catalogue: Readonly<Record<string, ErrorKind>>): ErrorKind | undefined {
  return e.kind ?? catalogue[e.code];
}

/** Throws a CloakError unless `condition` holds. */
export function ensure(condition: unknown, code: ErrorCode, message: string): asserts condition {
  if (!condition) throw new CloakError(code, message);
}
