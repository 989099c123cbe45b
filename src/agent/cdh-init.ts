import { CloakError } from '../lib/index.ts';
import { readSecretSpecs } from '../manifest/index.ts';
import { cdhResource, type CdhClientOptions } from './cdh-client.ts';

/** The secrets volume `cloak generate` makes is a 16 MiB memory emptyDir. */
export const CDH_MAX_TOTAL_BYTES = 16 * 1024 * 1024;
import { writeSecrets, type WrittenSecrets } from './secrets.ts';
import type { SecretSpec } from './workload.ts';

/**
 * The workload's secrets as its container spec lists them (`--secret-file PATH=RESOURCE`,
 * `--secret-env NAME=RESOURCE`: the Kata agent policy pins those arguments).
 */
export function secretsFromArgs(files: string[], envs: string[]): SecretSpec[] {
  const split = (arg: string, flag: string) => {
    const i = arg.lastIndexOf('=');
    if (i <= 0)
      throw new CloakError('USAGE_SECRET_ARG', `${flag} ${arg.slice(0, 200)} must be <where>=<repo/type/tag>`);
    return [arg.slice(0, i), arg.slice(i + 1)] as const;
  };
  const list = [
    ...files.map((a) => {
      const [file, resource] = split(a, '--secret-file');
      return { resource, file };
    }),
    ...envs.map((a) => {
      const [env, resource] = split(a, '--secret-env');
      return { resource, env };
    }),
  ];
  return readSecretSpecs(list, (m) => new CloakError('USAGE_SECRET_ARG', m), "the agent's secrets");
}

/**
 * Gets each secret from the guest's confidential data hub (which attests
 * to the KBS for the pod) and writes them all into `out` with the one
 * writer (files 0400, variables in cloak.env), or nothing at all when any
 * of them cannot be had.
 */
export async function runAgentCdh(
  opts: { out: string; secrets: SecretSpec[] } & CdhClientOptions,
): Promise<WrittenSecrets> {
  const values = new Map<string, Buffer>();
  let total = 0;
  for (const s of opts.secrets) {
    if (values.has(s.resource)) continue;
    const value = await cdhResource(s.resource, opts);
    total += value.length;
    if (total > CDH_MAX_TOTAL_BYTES)
      throw new CloakError(
        'AGENT_CDH_TOO_LARGE',
        `the workload's secrets exceed ${CDH_MAX_TOTAL_BYTES} bytes, the size of the secrets volume`,
      );
    values.set(s.resource, value);
  }
  return writeSecrets(opts.out, opts.secrets, values, { mode: 0o755 });
}
