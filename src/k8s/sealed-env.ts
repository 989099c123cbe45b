import type { KeyObject } from 'node:crypto';
import { CloakError } from '../lib/index.ts';
import { kbsUri, parseSealedSecret, sealVaultSecret, verifySealedSecret } from '../manifest/index.ts';

type Obj = Record<string, any>;

/** The key `cloak generate` seals with, and the resource path (`kid`) where the KBS holds its public JWK for the guest to verify. */
export interface SealingKey {
  key: KeyObject;
  kid: string;
}

/** Keeps an existing value when it is already the sealed secret for this resource (and, with the key at hand, signed by it): generate stays idempotent although ES256 signatures differ each time. */
async function current(value: unknown, resource: string, sealing: SealingKey | undefined): Promise<boolean> {
  if (typeof value !== 'string') return false;
  try {
    const s = sealing ? await verifySealedSecret(value, sealing.key) : parseSealedSecret(value);
    return s.resource === resource && (!sealing || s.header.kid === kbsUri(sealing.kid));
  } catch {
    return false;
  }
}

/**
 * Delivers sealed secrets with no init container: each app container gets
 * `NAME=sealed.…` (a vault secret naming the KBS resource) as a literal env
 * value, which the agent policy pins and the guest's Kata agent unseals
 * through the CDH before the container starts. Returns what changed.
 */
export async function applySealedEnv(
  containers: Obj[],
  sealed: Array<{ resource: string; env: string }>,
  sealing: SealingKey | undefined,
  where: string,
): Promise<string[]> {
  const changes: string[] = [];
  for (const c of containers) {
    for (const s of sealed) {
      const env: Obj[] = (c.env ??= []);
      const existing = env.find((e) => e.name === s.env);
      if (existing && !existing.valueFrom && (await current(existing.value, s.resource, sealing))) continue;
      if (!sealing)
        throw new CloakError(
          'K8S_SEALING_KEY',
          `${where}: ${s.env} is delivered sealed: give --sealing-key FILE (a P-256 private JWK, cloak secret keygen) and --sealing-kid repo/type/tag (where the KBS holds its public half)`,
        );
      const value = await sealVaultSecret({ resource: s.resource, kid: sealing.kid, key: sealing.key });
      if (existing) {
        delete existing.valueFrom;
        existing.value = value;
      } else env.push({ name: s.env, value });
      changes.push(`${where}: container ${c.name}: ${s.env} carries the sealed secret for ${s.resource}`);
    }
  }
  return changes;
}
