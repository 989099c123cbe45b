import { generateKeyPairSync } from 'node:crypto';
import { stringify } from 'yaml';

/** A manifest document (YAML) with one fresh owner, alice, and these workloads: for tests that need a valid owner section. */
export function ownerManifestYaml(workloads: Record<string, unknown>[]): string {
  const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  return stringify({ version: 1, owners: { users: [{ name: 'alice', publicKey }] }, workloads });
}
