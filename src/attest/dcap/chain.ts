import { X509Certificate } from 'node:crypto';
import { CloakError, type ErrorCode } from '../../lib/index.ts';
import { INTEL_SGX_ROOT_CA_PEM } from './roots.ts';
import { BoundedCache } from '../cache.ts';

const fail = (code: ErrorCode, message: string): never => { throw new CloakError(code, message); };

let pinnedRoot: X509Certificate | undefined;
/** The pinned Intel SGX Root CA. */
export function intelRoot(): X509Certificate {
  pinnedRoot ??= new X509Certificate(INTEL_SGX_ROOT_CA_PEM);
  return pinnedRoot;
}

/** Splits concatenated PEM certificates (tolerates the NUL terminator quotes carry). */
export function splitPemChain(text: string, code: ErrorCode, what: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0 || blocks.length > 5) fail(code, `${what} must hold 1 to 5 PEM certificates`);
  return blocks.map((b) => {
    try { return new X509Certificate(b); } catch (e) { throw new CloakError(code, `${what} holds a certificate that is not valid X.509`, { cause: e }); }
  });
}

function within(cert: X509Certificate, now: Date): boolean {
  return now >= new Date(cert.validFrom) && now <= new Date(cert.validTo);
}

const verifiedChains = new BoundedCache<X509Certificate[]>(256);

/**
 * Verifies a chain (leaf first) up to the pinned Intel SGX Root CA at `now`.
 * The chain may end with the root or one below it. Returns leaf…root.
 * `root` is replaceable only for Intel's non-production roots and self-made test chains.
 */
export function verifyChainToIntelRoot(chain: X509Certificate[], now: Date, code: ErrorCode, expiredCode: ErrorCode, what: string, root: X509Certificate = intelRoot()): X509Certificate[] {
  const certs = chain[chain.length - 1]!.raw.equals(root.raw) ? chain : [...chain, root];
  const key = certs.map((c) => c.fingerprint256).join('|');
  const cached = verifiedChains.get(key);
  if (cached && cached.every((c) => within(c, now))) return cached;
  if (!chain[chain.length - 1]!.raw.equals(root.raw) && chain[chain.length - 1]!.subject === root.subject) {
    fail(code, `${what} ends in a root that is not the trusted Intel SGX Root CA`);
  }
  for (let i = 0; i < certs.length; i++) {
    const cert = certs[i]!;
    if (!within(cert, now)) fail(expiredCode, `${what}: certificate "${cert.subject.split('\n')[0]}" is not valid at ${now.toISOString()} (valid ${cert.validFrom} to ${cert.validTo})`);
    const issuer = certs[Math.min(i + 1, certs.length - 1)]!;
    if (i < certs.length - 1 && !issuer.ca) fail(code, `${what}: an issuing certificate is not a CA`);
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) fail(code, `${what}: "${cert.subject.split('\n')[0]}" is not signed by "${issuer.subject.split('\n')[0]}"`);
  }
  return verifiedChains.set(key, certs);
}
