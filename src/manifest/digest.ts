import { createHash } from 'node:crypto';
import { canonicalJson } from '../lib/index.ts';

/** A manifest's identity: SHA-256 of its document as canonical JSON (RFC 8785), so YAML layout does not change it. */
export function manifestDigest(document: unknown): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(document)).digest('hex');
}

/** What an owner's signature covers: the manifest's digest, domain-separated. */
export const signingInput = (digest: string): Buffer => Buffer.from(`cloak-manifest-v1:${digest}`);
