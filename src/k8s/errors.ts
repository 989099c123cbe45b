import type { ErrorKind } from '../lib/index.ts';

/** The error codes of cloak generate and the kind of failure each is (src/server/http-status.ts maps kinds to HTTP statuses). */
export const K8S_ERRORS = {
  K8S_DIGEST_INVALID: 'invalid',
  K8S_IMAGE_CONFIG: 'invalid',
  K8S_MANIFEST_SECRET: 'invalid',
  K8S_NAME_INVALID: 'invalid',
  K8S_NO_CONTAINERS: 'invalid',
  K8S_NO_IMAGE: 'invalid',
  K8S_PLATFORM_UNKNOWN: 'invalid',
  K8S_POLICY_COMMAND: 'invalid',
  K8S_POLICY_ENVFROM: 'invalid',
  K8S_POLICY_OPT_IN: 'invalid',
  K8S_POLICY_TOO_LARGE: 'invalid',
  K8S_POLICY_USER: 'invalid',
  K8S_POLICY_VOLUME: 'invalid',
  K8S_SEALING_KEY: 'invalid',
  K8S_UNPINNED: 'invalid',
} as const satisfies Record<string, ErrorKind>;

type K8sErrors = typeof K8S_ERRORS;
declare module '../lib/errors.ts' {
  interface ErrorCatalogue extends K8sErrors {}
}
