import { CloakError } from '../lib/index.ts';

/** Tag → digest through the registry; wired to the OCI registry client. */
export function registryResolver(_opts: { tlsVerify: boolean }): ((image: string) => Promise<string>) | undefined {
  return async (image: string) => {
    throw new CloakError('K8S_UNPINNED', `cannot resolve ${image} yet: pin it to a digest (repo@sha256:…)`);
  };
}
