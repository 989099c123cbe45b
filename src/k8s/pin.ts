import { CloakError } from '../lib/index.ts';

/** Resolves `repo:tag` to `sha256:…` (through the registry). */
export type DigestResolver = (image: string) => Promise<string>;

/** An image as `repo[:tag]@sha256:…`: kept when already pinned, else resolved. */
export async function pin(
  image: string,
  resolve: DigestResolver | undefined,
  where: string,
): Promise<{ image: string; digest: string }> {
  if (!image) throw new CloakError('K8S_NO_IMAGE', `${where}: a container has no image`);
  const m = /^(.+)@(sha256:[0-9a-f]{64})$/.exec(image);
  if (m) return { image, digest: m[2]! };
  if (!resolve)
    throw new CloakError(
      'K8S_UNPINNED',
      `${where}: image ${image} is not pinned to a digest and no registry resolver is available`,
    );
  const digest = await resolve(image);
  if (!/^sha256:[0-9a-f]{64}$/.test(digest))
    throw new CloakError('K8S_DIGEST_INVALID', `registry returned "${digest}" for ${image}`);
  const repo = image.replace(/:[^/:]+$/, '');
  return { image: `${repo}@${digest}`, digest };
}
