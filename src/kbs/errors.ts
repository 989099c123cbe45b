import type { ErrorKind } from '../lib/index.ts';

/** The error codes of the key broker and the kind of failure each is (src/server/http-status.ts maps kinds to HTTP statuses). */
export const KBS_ERRORS = {
  ADMIN_NAME_INVALID: 'invalid',
  ADMIN_NO_MANIFEST: 'not_found',
  ADMIN_POLICY_KIND: 'not_found',
  ADMIN_REFVALUE_NOT_FOUND: 'not_found',
  ADMIN_RESOURCE_NOT_FOUND: 'not_found',
  ADMIN_RESOURCE_TOO_LARGE: 'too_large',
  KBS_ATTESTATION_CONTRAINDICATED: 'forbidden',
  KBS_EVIDENCE_MALFORMED: 'invalid',
  KBS_INITDATA_INVALID: 'invalid',
  KBS_INITDATA_MISMATCH: 'unauthorized',
  KBS_INITDATA_UNBOUND: 'unauthorized',
  KBS_NONCE_MISMATCH: 'unauthorized',
  KBS_NOT_ATTESTED: 'unauthorized',
  KBS_POLICY_DENY: 'forbidden',
  KBS_PROTOCOL_VERSION: 'invalid',
  KBS_REPORT_DATA_MISMATCH: 'unauthorized',
  KBS_RESOURCE_NOT_FOUND: 'not_found',
  KBS_SESSION_ATTESTED: 'conflict',
  KBS_SESSION_EXPIRED: 'unauthorized',
  KBS_SESSION_UNKNOWN: 'unauthorized',
  KBS_TEE_PUBKEY_INVALID: 'invalid',
  KBS_TOKEN_INVALID: 'unauthorized',
  KBS_UNAUTHENTICATED: 'unauthorized',
  KBS_UNKNOWN_TEE: 'invalid',
  MANIFEST_APPROVALS: 'forbidden',
  MANIFEST_FORK: 'conflict',
  MANIFEST_IN_FORCE_INVALID: 'internal',
  MANIFEST_ROLLBACK: 'conflict',
  MANIFEST_SIGNATURE_INVALID: 'forbidden',
  MANIFEST_UNSIGNED: 'forbidden',
  MANIFEST_VERSION_GAP: 'conflict',
  POLICY_IN_FORCE_INVALID: 'internal',
  TOKEN_KEY_MISSING: 'invalid',
} as const satisfies Record<string, ErrorKind>;

type KbsErrors = typeof KBS_ERRORS;
declare module '../lib/errors.ts' {
  interface ErrorCatalogue extends KbsErrors {}
}
