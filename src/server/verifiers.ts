import { sampleVerifier, simVerifier, tpmVerifier, type EvidenceVerifier } from '../attest/index.ts';

/** Every TEE the server verifies. */
export function defaultVerifiers(): EvidenceVerifier[] {
  return [sampleVerifier, simVerifier, tpmVerifier];
}
