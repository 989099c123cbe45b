import type { ErrorKind } from '../lib/index.ts';

/** The error codes of the policies and the kind of failure each is (src/server/http-status.ts maps kinds to HTTP statuses). */
export const POLICY_ERRORS = {
  POLICY_DEBUG_REFUSED: 'unauthorized',
  POLICY_EVALUATION: 'forbidden',
  POLICY_INSECURE_TEE: 'forbidden',
  POLICY_INVALID: 'invalid',
  POLICY_TCB_STATUS_REFUSED: 'unauthorized',
  POLICY_TEE_NOT_ALLOWED: 'forbidden',
} as const satisfies Record<string, ErrorKind>;

type PolicyErrors = typeof POLICY_ERRORS;
declare module '../lib/errors.ts' {
  interface ErrorCatalogue extends PolicyErrors {}
}
