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

export interface ProblemBody { type: string; title: string; status: number; detail: string; code: string }

/** Maps any error to an HTTP status and an RFC 7807 body (the KBS shape plus title/status/code). */
export function toProblem(e: unknown): ProblemBody {
  if (e instanceof CloakError) {
    const variant = VARIANTS[e.code] ?? (e.status === 403 ? 'PolicyDeny' : e.status >= 500 ? 'InternalError' : e.status === 401 ? 'AttestationFailed' : 'InvalidRequest');
    return { type: KBS_ERROR_PREFIX + variant, title: variant, status: e.status, detail: e.message, code: e.code };
  }
  return { type: KBS_ERROR_PREFIX + 'InternalError', title: 'InternalError', status: 500, detail: 'internal error', code: 'INTERNAL' };
}
