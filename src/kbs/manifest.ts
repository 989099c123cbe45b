import { verify as verifySignature } from 'node:crypto';
import { CloakError, fromBase64 } from '../lib/index.ts';
import { parseResourcePolicy, type ResourcePolicy } from '../policy/index.ts';
import {
  readManifest,
  signingInput,
  type Manifest as ManifestModel,
  type ManifestWorkload,
} from '../manifest/index.ts';

/** The manifest as the broker holds it: the workload model with each workload's resource policy compiled. */
export type Manifest = ManifestModel<ResourcePolicy>;
export type WorkloadEntry = ManifestWorkload<ResourcePolicy>;

export interface ManifestSignature {
  user: string;
  signature: string;
}

/** Parses and checks a manifest (src/manifest) and compiles its workloads' resource policies. */
export function parseManifest(text: string): Manifest {
  const m = readManifest(text);
  return {
    ...m,
    workloads: m.workloads.map((w) => ({
      ...w,
      policy: w.policy === undefined ? undefined : parseResourcePolicy(w.policy),
    })),
  };
}

/** Counts distinct valid owner signatures over `digest` by the owners of `signers`. */
export function countApprovals(
  signers: Manifest,
  digest: string,
  signatures: ManifestSignature[],
): { valid: string[]; invalid: string[] } {
  const valid = new Set<string>();
  const invalid: string[] = [];
  for (const s of signatures) {
    const user = signers.owners.users.find((u) => u.name === s.user && u.roles.includes('owner'));
    let ok = false;
    if (user && typeof s.signature === 'string') {
      try {
        const hash = user.publicKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
        ok = verifySignature(hash, signingInput(digest), user.publicKey, fromBase64(s.signature));
      } catch {
        ok = false;
      }
    }
    if (ok) valid.add(s.user);
    else invalid.push(String(s.user));
  }
  return { valid: [...valid], invalid };
}

/**
 * Decides whether `next` may replace `current`: version + 1, previous =
 * current's digest, and at least `current.owners.approvals` owner
 * signatures (for the first manifest: its own owners and threshold).
 */
export function checkUpdate(current: Manifest | undefined, next: Manifest, signatures: ManifestSignature[]): void {
  if (current) {
    if (next.version <= current.version)
      throw new CloakError(
        'MANIFEST_ROLLBACK',
        `version ${next.version} is not newer than the manifest in force (${current.version}): an older manifest can never be applied again`,
      );
    if (next.version !== current.version + 1)
      throw new CloakError(
        'MANIFEST_VERSION_GAP',
        `the next manifest must be version ${current.version + 1}, not ${next.version}`,
      );
    if (next.previous !== current.digest)
      throw new CloakError(
        'MANIFEST_FORK',
        `"previous" (${next.previous}) is not the digest of the manifest in force (${current.digest}): fetch it with \`cloak manifest get\` and base the update on it`,
      );
  } else if (next.version !== 1) {
    throw new CloakError(
      'MANIFEST_VERSION_GAP',
      `no manifest is in force: the first one must be version 1, not ${next.version}`,
    );
  }
  const signers = current ?? next;
  if (signatures.length === 0)
    throw new CloakError('MANIFEST_UNSIGNED', 'the manifest carries no signature: sign it with `cloak manifest sign`');
  const { valid, invalid } = countApprovals(signers, next.digest, signatures);
  if (invalid.length)
    throw new CloakError(
      'MANIFEST_SIGNATURE_INVALID',
      `signature(s) by ${invalid.join(', ')} do not verify with an owner key of the manifest in force`,
    );
  if (valid.length < signers.owners.approvals) {
    throw new CloakError(
      'MANIFEST_APPROVALS',
      `${valid.length} owner approval(s) (${valid.join(', ')}); the manifest in force needs ${signers.owners.approvals}`,
    );
  }
}
