import { createHash } from 'node:crypto';
import { canonicalJson, padTo } from '../lib/index.ts';

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

export { initDataDigest, type InitDataAlgorithm } from '../lib/index.ts';
