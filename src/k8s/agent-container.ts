import { DEFAULT_CDH_URL, type SecretSpec } from '../manifest/index.ts';

export const AGENT_CONTAINER = 'cloak-agent';
export const SECRETS_VOLUME = 'cloak-secrets';
export const SECRETS_PATH = '/run/cloak/secrets';

/**
 * The `cloak-agent` init container: it gets the workload's secrets from the
 * guest's confidential data hub (which attests for the pod) and writes them
 * into the memory volume. Its list of secrets is in its arguments, which the
 * Kata agent policy pins exactly, so the host can neither add nor redirect one.
 */
export function agentContainer(image: string, secrets: SecretSpec[]): Record<string, any> {
  const list = secrets.flatMap((s) =>
    s.file ? ['--secret-file', `${s.file}=${s.resource}`] : ['--secret-env', `${s.env}=${s.resource}`],
  );
  return {
    name: AGENT_CONTAINER,
    image,
    args: ['agent', 'init', '--out', SECRETS_PATH, '--cdh', DEFAULT_CDH_URL, ...list],
    volumeMounts: [{ name: SECRETS_VOLUME, mountPath: SECRETS_PATH }],
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
  };
}
