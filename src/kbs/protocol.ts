/** Constants of the CoCo KBS protocol (shared/specs/kbs-protocol.md). */
export const KBS_PROTOCOL_VERSION = '0.4.0';
export const SESSION_COOKIE = 'kbs-session-id';
export const SESSION_TTL_MS = 5 * 60_000;
export const TOKEN_TTL_S = 5 * 60;
export const KBS_ERROR_PREFIX = 'https://github.com/confidential-containers/kbs/errors/';
