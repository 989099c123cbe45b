import { CloakError } from '../lib/errors.ts';
import { namesRegistryHost } from '../k8s/guest-image.ts';

/** A Kubernetes image string (`nginx:1.27`, `ghcr.io/x/y:tag`, `host:5000/app`) as a docker:// reference. */
export function kubernetesImageRef(image: string): string {
  const hasHost = namesRegistryHost(image);
  const withTag = /:[^/]+$/.test(image) ? image : `${image}:latest`;
  return `docker://${hasHost ? withTag : `docker.io/${withTag}`}`;
}

/** Tag → digest through the registry (the digest of what the tag names: a manifest or an index). */
export function registryResolver(opts: { tlsVerify: boolean }): (image: string) => Promise<string> {
  return async (image: string) => {
    const { RegistryClient, parseDockerReference } = await import('../oci/index.ts');
    let ref;
    try {
      ref = parseDockerReference(kubernetesImageRef(image));
    } catch {
      throw new CloakError('K8S_IMAGE_INVALID', `image "${image}" is not a valid image reference`);
    }
    const client = new RegistryClient(ref, { tlsVerify: opts.tlsVerify, retries: 1 });
    try {
      return (await client.getManifest(ref.tag ?? 'latest')).digest;
    } catch (e) {
      throw new CloakError(
        'K8S_UNPINNED',
        `cannot pin ${image} to a digest: ${(e as Error).message} (pin it as repo@sha256:… or make the registry reachable)`,
        { cause: e },
      );
    }
  };
}
