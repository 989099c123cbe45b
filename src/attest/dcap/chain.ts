import { X509Certificate } from 'node:crypto';
import { CloakError, type ErrorCode } from '../../lib/index.ts';
import { INTEL_SGX_ROOT_CA_PEM } from './roots.ts';
import { walkChain, type ChainCrl, type ChainUse } from '../pki/chain.ts';
import type { VerifyCache } from '../cache.ts';

const fail = (code: ErrorCode, message: string): never => {
  throw new CloakError(code, message);
};

const INTEL_ROOT = new X509Certificate(INTEL_SGX_ROOT_CA_PEM);
/** The pinned Intel SGX Root CA (parsed once, at load: it is a constant). */
export const intelRoot = (): X509Certificate => INTEL_ROOT;

/** Splits concatenated PEM certificates (tolerates the NUL terminator quotes carry). */
export function splitPemChain(text: string, code: ErrorCode, what: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0 || blocks.length > 5) fail(code, `${what} must hold 1 to 5 PEM certificates`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new CloakError(code, `${what} holds a certificate that is not valid X.509`, { cause: e });
    }
  });
}

/**
 * Splits `pem` and verifies it (leaf first) up to the Intel SGX Root CA at
 * `now` with the one chain walker, applying `crls`. The chain may end with
 * the root or one below it. Returns leaf…root. `root` is replaceable only for
 * Intel's non-production roots and self-made test chains.
 */
export function verifyIntelChain(
  pem: string,
  use: ChainUse,
  now: Date,
  root: X509Certificate = intelRoot(),
  crls?: readonly ChainCrl[],
  cache?: VerifyCache,
): X509Certificate[] {
  return walkChain(splitPemChain(pem, use.invalid, use.what), use, { now, anchors: [root], crls, cache }).certs;
}
