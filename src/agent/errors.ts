import type { ErrorKind } from '../lib/index.ts';

/** The error codes of the agent and the kind of failure each is (src/server/http-status.ts maps kinds to HTTP statuses). */
export const AGENT_ERRORS = {
  AGENT_AZ_TD_QUOTE: 'invalid',
  AGENT_AZ_VCEK: 'invalid',
  AGENT_CDH_FEATURE_DISABLED: 'unavailable',
  AGENT_CDH_FORBIDDEN: 'forbidden',
  AGENT_CDH_PROTOCOL: 'upstream_failed',
  AGENT_CDH_RESOURCE_FAILED: 'upstream_failed',
  AGENT_CDH_TIMEOUT: 'unavailable',
  AGENT_CDH_TOO_LARGE: 'too_large',
  AGENT_CDH_UNREACHABLE: 'unavailable',
  AGENT_ENV_BINARY: 'invalid',
  AGENT_INITDATA_INVALID: 'invalid',
  AGENT_JWE_INVALID: 'invalid',
  AGENT_KBS_PROTOCOL: 'invalid',
  AGENT_KBS_UNREACHABLE: 'invalid',
  AGENT_NO_SIM: 'invalid',
  AGENT_NO_TEE: 'invalid',
  AGENT_NO_TPM: 'invalid',
  AGENT_NO_TSM: 'invalid',
  AGENT_RESOURCE_PATH: 'invalid',
  AGENT_SECRET_CONFLICT: 'invalid',
  AGENT_TEE_UNSUPPORTED: 'invalid',
  AGENT_TPM_AK_SCHEME: 'invalid',
  AGENT_TPM_IO: 'invalid',
  AGENT_TPM_NONCE: 'invalid',
  AGENT_TPM_RC: 'invalid',
  AGENT_TPM_RESPONSE: 'invalid',
  AGENT_TSM_INBLOB: 'invalid',
  AGENT_TSM_INVALID: 'invalid',
  AGENT_TSM_PROVIDER: 'invalid',
  AGENT_TSM_RACE: 'invalid',
  USAGE_CDH_URL: 'invalid',
  USAGE_MEASUREMENT: 'invalid',
  USAGE_SECRET_ARG: 'invalid',
} as const satisfies Record<string, ErrorKind>;

type AgentErrors = typeof AGENT_ERRORS;
declare module '../lib/errors.ts' {
  interface ErrorCatalogue extends AgentErrors {}
}
