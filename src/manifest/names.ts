/**
 * The name of a workload, a secret or an owner: a lower-case DNS label (with dots),
 * as Kubernetes names its objects, so `cloak generate` can take a workload's name from its metadata.
 */
export const WORKLOAD_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

export const isWorkloadName = (name: unknown): name is string => typeof name === 'string' && WORKLOAD_NAME.test(name);

/** An image digest as the manifest and the init-data pin images. */
export const IMAGE_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** An environment variable a secret may be delivered as. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** A file a secret is written to: relative to the secrets directory, no `..`, `.` or empty segments. */
export function safeRelative(p: string): boolean {
  return (
    p.length > 0 &&
    p.length < 256 &&
    !p.startsWith('/') &&
    !p.split('/').some((s) => s === '..' || s === '' || s === '.') &&
    !p.includes('\0')
  );
}

/** The guest's confidential data hub as a pod's containers reach it (guest-components api-server-rest, DEFAULT_BIND). */
export const DEFAULT_CDH_URL = 'http://127.0.0.1:8006';
/** How long the agent waits for one resource from the data hub (the data hub's own limit is 50 s). */
export const CDH_TIMEOUT_MS = 60_000;
