/** Whether an image string starts with a registry host (`ghcr.io/…`, `host:5000/…`, `localhost/…`), as Docker decides it. */
export function namesRegistryHost(image: string): boolean {
  const first = image.split('/')[0]!;
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
}

/**
 * An image reference as image-rs names it when it checks the guest's image
 * security policy (the fully expanded Docker reference: registry, path,
 * tag if any, digest), so a policy scope matches the pull exactly:
 * `nginx@sha256:…` is `docker.io/library/nginx@sha256:…`.
 */
export function guestImageReference(image: string): string {
  if (namesRegistryHost(image)) return image.replace(/^index\.docker\.io\//, 'docker.io/');
  return image.includes('/') ? `docker.io/${image}` : `docker.io/library/${image}`;
}
