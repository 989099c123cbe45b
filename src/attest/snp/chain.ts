import type { X509Certificate } from 'node:crypto';
import { CloakError, type ErrorCode } from '../../lib/index.ts';
import { issuedBy, walkChain } from '../pki/chain.ts';
import type { CrlUse } from '../pki/crl.ts';
import { productFromName } from './product.ts';
import { parsedRoots, type ParsedRoots, type ProductRoots } from './roots/index.ts';
import type { Vek } from './vek.ts';
import type { VerifyCache } from '../cache.ts';

export interface VerifiedChain {
  product: string;
  roots: ParsedRoots;
  /** The ASK (VCEK) or ASVK (VLEK) that signed the VEK. */
  issuer: X509Certificate;
  crlChecked: boolean;
}

const fail = (code: ErrorCode, message: string): never => {
  throw new CloakError(code, message);
};

/**
 * Verifies VEK ← ASK/ASVK ← ARK for the product: signatures (RSA-PSS
 * SHA-384, by the one chain walker), validity at `now`, the product name,
 * and the CRL when given.
 * `reportProduct` (from CPUID, v3+) decides the product; without it the
 * VEK's issuer does, among the trusted products.
 */
export function verifyVekChain(
  vek: Vek,
  reportProduct: string | undefined,
  trusted: Record<string, ProductRoots>,
  now: Date,
  crl?: Uint8Array,
  cache?: VerifyCache,
): VerifiedChain {
  const issuerOf = (r: ParsedRoots): X509Certificate => (vek.kind === 'VLEK' ? r.asvk : r.ask);
  const signer = (product: string): ParsedRoots | undefined => {
    const roots = trusted[product];
    if (!roots) return undefined;
    const parsed = parsedRoots(roots, cache);
    return issuedBy(vek.cert, issuerOf(parsed), cache) ? parsed : undefined;
  };
  const named = productFromName(vek.productName);
  let product = reportProduct;
  let roots: ParsedRoots | undefined;
  if (product !== undefined) {
    if (!trusted[product]) fail('SNP_PRODUCT_UNTRUSTED', `no AMD roots are trusted for ${product}`);
    roots = signer(product);
    if (!roots) {
      const other = Object.keys(trusted).find((p) => p !== product && signer(p));
      if (other)
        fail(
          'SNP_PRODUCT_MISMATCH',
          `the report comes from a ${product} chip but its ${vek.kind} was issued for ${other}: use the ${product} certificate`,
        );
      fail(
        'SNP_VEK_SIGNATURE_INVALID',
        `the ${vek.kind} is not signed by AMD's ${product} ${vek.kind === 'VLEK' ? 'ASVK' : 'ASK'}: it was altered or is not AMD's`,
      );
    }
  } else {
    const order = [...(named && trusted[named] ? [named] : []), ...Object.keys(trusted).filter((p) => p !== named)];
    product = order.find((p) => (roots = signer(p)) !== undefined);
    if (!product || !roots)
      return fail(
        'SNP_VEK_SIGNATURE_INVALID',
        `the ${vek.kind} is not signed by any trusted AMD ${vek.kind === 'VLEK' ? 'ASVK' : 'ASK'}: it was altered or is not AMD's`,
      );
  }
  if (named !== undefined && named !== product)
    fail('SNP_PRODUCT_MISMATCH', `the ${vek.kind} names product ${vek.productName} but is used for ${product}`);
  const issuer = issuerOf(roots!);
  const issuerName = vek.kind === 'VLEK' ? 'ASVK' : 'ASK';
  const crlUse = {
    what: `AMD's ${product} CRL`,
    invalid: 'SNP_CRL_INVALID',
    expired: 'SNP_CRL_INVALID',
    refresh: 'fetch a fresh one from AMD KDS',
  } satisfies CrlUse;
  walkChain(
    [vek.cert, issuer],
    {
      what: `AMD's ${product} ${vek.kind} chain`,
      names: [vek.kind, issuerName, 'ARK'],
      invalid: 'SNP_VEK_SIGNATURE_INVALID',
      expired: 'SNP_CERT_EXPIRED',
      notYetValid: 'SNP_CERT_NOT_YET_VALID',
      revoked: 'SNP_REVOKED',
    },
    {
      now,
      anchors: [roots!.ark],
      crls: crl ? [{ data: crl, issuer: roots!.ark, use: crlUse, covers: 'below' }] : [],
      cache,
    },
  );
  return { product: product!, roots: roots!, issuer, crlChecked: crl !== undefined };
}
