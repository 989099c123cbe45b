/**
 * The one error type of Cloak. `code` is stable (callers switch on it),
 * `message` says what a person can do, `status` is the HTTP status used
 * where the error crosses HTTP.
 */
export class CloakError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, options: { status?: number; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CloakError';
    this.code = code;
    this.status = options.status ?? 400;
    this.details = options.details;
  }
}

export function isCloakError(e: unknown, code?: string): e is CloakError {
  return e instanceof CloakError && (code === undefined || e.code === code);
}

/** Throws a CloakError unless `condition` holds. */
export function ensure(condition: unknown, code: string, message: string, status?: number): asserts condition {
  if (!condition) throw new CloakError(code, message, { status });
}
