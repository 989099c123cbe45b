import { X509Certificate } from 'node:crypto';
import { CloakError } from '../../../lib/index.ts';
import { cacheSlot, derived, type VerifyCache } from '../../cache.ts';
import { GENOA } from './genoa.ts';
import { MILAN } from './milan.ts';
import { TURIN } from './turin.ts';
import type { ProductRoots } from './types.ts';

export type { ProductRoots } from './types.ts';
export const SNP_PRODUCTS = ['Milan', 'Genoa', 'Turin'] as const;
export type SnpProduct = (typeof SNP_PRODUCTS)[number];

/** AMD roots shipped with (and pinned by) Cloak. */
export const AMD_ROOTS: Record<SnpProduct, ProductRoots> = { Milan: MILAN, Genoa: GENOA, Turin: TURIN };

/** A product's roots, parsed and self-checked once. */
export interface ParsedRoots {
  product: string;
  ark: X509Certificate;
  ask: X509Certificate;
  asvk: X509Certificate;
}

const PARSED = cacheSlot<ParsedRoots>('snp.roots', 0);

const fp = (c: X509Certificate): string => c.fingerprint256.replace(/:/g, '').toLowerCase();

/**
 * Parses a product's ARK/ASK/ASVK, checks the ARK's fingerprint pin and
 * self-signature and that ASK and ASVK are issued by it. With a cache, once per roots object.
 */
export function parsedRoots(roots: ProductRoots, cache?: VerifyCache): ParsedRoots {
  return derived(cache, PARSED, roots, () => parseRoots(roots));
}

function parseRoots(roots: ProductRoots): ParsedRoots {
  const parse = (pem: string, what: string): X509Certificate => {
    try {
      return new X509Certificate(pem);
    } catch (e) {
      throw new CloakError(
        'SNP_ROOT_INVALID',
        `the ${roots.product} ${what} certificate in the trust roots does not parse`,
        { cause: e },
      );
    }
  };
  const ark = parse(roots.ark, 'ARK');
  const ask = parse(roots.ask, 'ASK');
  const asvk = parse(roots.asvk, 'ASVK');
  if (fp(ark) !== roots.arkSha256.toLowerCase()) {
    throw new CloakError(
      'SNP_ROOT_PIN',
      `the ${roots.product} ARK's fingerprint ${fp(ark)} is not the pinned ${roots.arkSha256}`,
    );
  }
  if (!ark.verify(ark.publicKey) || !ark.checkIssued(ark)) {
    throw new CloakError('SNP_ROOT_INVALID', `the ${roots.product} ARK is not self-signed`);
  }
  for (const [c, what] of [
    [ask, 'ASK'],
    [asvk, 'ASVK'],
  ] as const) {
    if (!c.checkIssued(ark) || !c.verify(ark.publicKey)) {
      throw new CloakError('SNP_ROOT_INVALID', `the ${roots.product} ${what} is not signed by its ARK`);
    }
  }
  return { product: roots.product, ark, ask, asvk };
}
