import { createHash } from 'node:crypto';
import { canonicalJson, CloakError, padTo } from '../lib/index.ts';

/**
 * The KBS binding digest: SHA-384 of the RFC 8785 canonical JSON of
 * {"additional-evidence", "nonce", "tee-pubkey"} (shared/specs/kbs-protocol.md).
 */
export function runtimeDataDigest(nonce: string, teePubkey: unknown, additionalEvidence = ''): Buffer {
  const text = canonicalJson({ 'additional-evidence': additionalEvidence, nonce, 'tee-pubkey': teePubkey });
  return createHash('sha384').update(text).digest();
}

/** Fits a digest into a report-data field of `len` bytes: zero-pad if shorter, truncate if longer. */
export function fitDigest(digest: Buffer, len: number): Buffer {
  return digest.length >= len ? Buffer.from(digest.subarray(0, len)) : padTo(digest, len);
}

export type InitDataAlgorithm = 'sha256' | 'sha384' | 'sha512';

/** Digest of a CoCo init-data text with the algorithm it names (default sha256). */
export function initDataDigest(text: string, algorithm: string = 'sha256'): Buffer {
  if (!['sha256', 'sha384', 'sha512'].includes(algorithm)) {
    throw new CloakError('INITDATA_ALGORITHM', `init-data algorithm "${algorithm}" is not supported (use sha256, sha384 or sha512)`);
  }
  return createHash(algorithm).update(text, 'utf8').digest();
}
