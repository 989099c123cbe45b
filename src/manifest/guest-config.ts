import { stringify } from 'smol-toml';
import { CloakError } from '../lib/index.ts';

/*
 * The CoCo guest components' own config files, carried in the measured
 * init-data: `aa.toml` for the attestation agent (which KBS issues its
 * tokens, and that server's certificate) and `cdh.toml` for the confidential
 * data hub (the KBS it fetches resources and image keys from, the same
 * certificate, and the image security policy image-rs enforces on every
 * image the guest pulls). Field names as guest-components reads them
 * (attestation-agent config `token_configs.kbs`, CDH `kbc` and `image`).
 */

export interface GuestServer {
  /** The KBS URL, http(s)://host:port. */
  url: string;
  /** PEM of the server's TLS certificate, pinned: the guest trusts this one only. */
  cert?: string;
}

const toml = (o: Record<string, unknown>): string => stringify(o).replace(/\n*$/, '\n');

const PEM = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/;

function checkServer(s: GuestServer): void {
  if (!/^https?:\/\/[^\s"'\\/]+(\/[^\s"'\\]*)?$/.test(s.url))
    throw new CloakError('INITDATA_SERVER_URL', `server "${s.url}" is not an http(s) URL`);
  if (s.cert !== undefined) {
    if (!s.url.startsWith('https://'))
      throw new CloakError('INITDATA_SERVER_CERT', `a pinned certificate needs an https:// server, got ${s.url}`);
    if (!PEM.test(s.cert.replace(/\r\n/g, '\n')))
      throw new CloakError('INITDATA_SERVER_CERT', 'the server certificate must be one PEM CERTIFICATE block');
  }
}

/** `aa.toml`: the attestation agent gets its KBS token from this server, over TLS to this certificate. */
export function attestationAgentConfig(s: GuestServer): string {
  checkServer(s);
  return toml({ token_configs: { kbs: { url: s.url, ...(s.cert ? { cert: s.cert } : {}) } } });
}

/**
 * The containers-policy.json image-rs applies to every image the guest
 * pulls: reject by default, accept only the exact references listed. A
 * reference pinned by digest admits that image only (image-rs checks the
 * digest of what it pulls); a tag admits whatever the registry serves for it.
 */
export function imageSecurityPolicy(references: string[]): string {
  const accept = [{ type: 'insecureAcceptAnything' }];
  const scopes = Object.fromEntries(
    [...new Set(references)].sort().map((r) => {
      if (!/^[^\s"]+$/.test(r)) throw new CloakError('INITDATA_IMAGE_POLICY', `"${r}" is not an image reference`);
      return [r, accept];
    }),
  );
  return JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: scopes } });
}

/** `cdh.toml`: the data hub's KBS (cc_kbc) with the pinned certificate, and the image policy when images are given. */
export function dataHubConfig(s: GuestServer, images?: string[]): string {
  checkServer(s);
  return toml({
    kbc: { name: 'cc_kbc', url: s.url, ...(s.cert ? { kbs_cert: s.cert } : {}) },
    ...(images ? { image: { image_security_policy: imageSecurityPolicy(images) } } : {}),
  });
}
