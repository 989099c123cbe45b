import { CloakError } from '../lib/index.ts';

/** A `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]` reference. */
export interface RegistryRef {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export function parseDockerReference(ref: string): RegistryRef {
  const m =
    /^docker:\/\/([^/]+)\/([a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(
      ref,
    );
  if (!m) throw new CloakError('OCI_REFERENCE_INVALID', `"${ref}" is not docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`);
  const registry = m[1] === 'docker.io' ? 'registry-1.docker.io' : m[1]!;
  const repository = registry === 'registry-1.docker.io' && !m[2]!.includes('/') ? `library/${m[2]}` : m[2]!;
  return { registry, repository, tag: m[3] ?? (m[4] ? undefined : 'latest'), digest: m[4] };
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface RegistryAuth {
  username?: string;
  password?: string;
}
export interface RegistryOptions {
  tlsVerify?: boolean;
  auth?: RegistryAuth;
  retries?: number;
  fetch?: typeof fetch;
}
