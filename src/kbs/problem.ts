import { CloakError } from '../lib/index.ts';
import { KBS_ERROR_PREFIX } from './protocol.ts';

/** The KBS error variant (the last part of the RFC 7807 `type`) for a Cloak error code. */
const VARIANTS: Record<string, string> = {
  KBS_PROTOCOL_VERSION: 'ProtocolVersion',
  KBS_UNKNOWN_TEE: 'UnsupportedTee',
  KBS_SESSION_UNKNOWN: 'UnAuthenticatedCookie',
  KBS_SESSION_EXPIRED: 'ExpiredCookie',
  KBS_UNAUTHENTICATED: 'UnAuthenticated',
  KBS_NOT_ATTESTED: 'UnAuthenticatedCookie',
  KBS_TOKEN_INVALID: 'TokenParseFailed',
  KBS_NONCE_MISMATCH: 'AttestationFailed',
  KBS_REPORT_DATA_MISMATCH: 'AttestationFailed',
  KBS_INITDATA_MISMATCH: 'AttestationFailed',
  KBS_POLICY_DENY: 'PolicyDeny',
  KBS_RESOURCE_NOT_FOUND: 'ResourceNotFound',
  KBS_RESOURCE_PATH_INVALID: 'InvalidRequest',
  KBS_TEE_PUBKEY_INVALID: 'ExtractTeePubKeyFailed',
  ADMIN_UNAUTHORIZED: 'AdminAuth',
};

/**
 * What a client is told of a failure on the server's side. The message itself
 * (which may name database hosts, ports, files) goes to the server log only.
 */
const SERVER_SIDE_DETAIL: Record<string, string> = {
  STORE_UNAVAILABLE: 'the database is unreachable; retry later',
  STORE_BUSY: 'the database is busy; retry',
  STORE_IO_FAILED: 'the database cannot write; retry later',
};
const INTERNAL_DETAIL = 'internal error (the server log has the details)';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

/** Maps any error, with the HTTP status the server gives it, to an RFC 7807 body (the KBS shape plus title/status/code). */
export function toProblem(e: unknown, status: number): ProblemBody {
  if (e instanceof CloakError) {
    const variant =
      VARIANTS[e.code] ??
      (status === 403
        ? 'PolicyDeny'
        : status >= 500
          ? 'InternalError'
          : status === 401
            ? 'AttestationFailed'
            : 'InvalidRequest');
    const detail = status >= 500 ? (SERVER_SIDE_DETAIL[e.code] ?? INTERNAL_DETAIL) : e.message;
    return { type: KBS_ERROR_PREFIX + variant, title: variant, status, detail, code: e.code };
  }
  return {
    type: KBS_ERROR_PREFIX + 'InternalError',
    title: 'InternalError',
    status: 500,
    detail: INTERNAL_DETAIL,
    code: 'INTERNAL',
  };
}
