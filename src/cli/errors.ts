import type { ErrorKind } from '../lib/index.ts';

/** The error codes of the command line and the kind of failure each is (src/server/http-status.ts maps kinds to HTTP statuses). */
export const CLI_ERRORS = {
  AZ_HARDWARE_NOT_VERIFIED: 'invalid',
  AZ_NONCE_MISMATCH: 'unauthorized',
  CLIENT_UNREACHABLE: 'invalid',
  K8S_IMAGE_INVALID: 'invalid',
  K8S_YAML_INVALID: 'invalid',
  SERVER_CERT_FETCH: 'upstream_failed',
  SERVER_CERT_ISSUED: 'invalid',
  SERVER_CERT_MISMATCH: 'forbidden',
  SERVER_CERT_NAME: 'invalid',
  SGX_REPORT_DATA_MISMATCH: 'invalid',
  SIM_EXISTS: 'invalid',
  TDX_REPORT_DATA_MISMATCH: 'invalid',
  TPM_NONCE_MISMATCH: 'unauthorized',
  USAGE_AGENT_IMAGE: 'invalid',
  USAGE_AT: 'invalid',
  USAGE_COLLATERAL: 'invalid',
  USAGE_CONFLICT: 'invalid',
  USAGE_EVIDENCE: 'invalid',
  USAGE_FILE: 'invalid',
  USAGE_FINGERPRINT: 'invalid',
  USAGE_KEY: 'invalid',
  USAGE_KEY_ID: 'invalid',
  USAGE_LAYERS: 'invalid',
  USAGE_NONCE: 'invalid',
  USAGE_NO_INITDATA: 'invalid',
  USAGE_NO_INPUT: 'invalid',
  USAGE_NO_SERVER: 'invalid',
  USAGE_NO_TOKEN: 'invalid',
  USAGE_OFFLINE: 'invalid',
  USAGE_RECIPIENT: 'invalid',
  USAGE_REPORT_DATA: 'invalid',
  USAGE_SEALING: 'invalid',
  USAGE_SECRET: 'invalid',
  USAGE_SERVER_CERT: 'invalid',
  USAGE_STOP_TIMEOUT: 'invalid',
  USAGE_TCB_STATUS: 'invalid',
  USAGE_TEE: 'invalid',
  USAGE_TIMEOUT: 'invalid',
  USAGE_USER: 'invalid',
} as const satisfies Record<string, ErrorKind>;

type CliErrors = typeof CLI_ERRORS;
declare module '../lib/errors.ts' {
  interface ErrorCatalogue extends CliErrors {}
}
