import type { X509Certificate } from 'node:crypto';
import { CloakError, serialKey, type ErrorCode } from '../../lib/index.ts';
import { checkCrl } from '../pki/crl.ts';
import { productFromName } from './product.ts';
import { parsedRoots, type ParsedRoots, type ProductRoots } from './roots/index.ts';
import type { Vek } from './vek.ts';

export interface VerifiedChain {
  product: string;
  roots: ParsedRoots;
  /** The ASK (VCEK) or ASVK (VLEK) that signed the VEK. */
  issuer: X509Certificate;
  crlChecked: boolean;
}

const fail = (code: ErrorCode, message: string): never => { throw new CloakError(code, message); };

/** Signature results per (certificate, issuer) object pair: roots and VEKs are cached objects, so warm checks cost nothing. */
const verified = new WeakMap<X509Certificate, WeakMap<X509Certificate, boolean>>();
const signs = (issuer: X509Certificate, cert: X509Certificate): boolean => {
  let byIssuer = verified.get(cert);
  const hit = byIssuer?.get(issuer);
  if (hit !== undefined) return hit;
  let ok = false;
  try { ok = cert.checkIssued(issuer) && cert.verify(issuer.publicKey); } catch { ok = false; }
  if (!byIssuer) { byIssuer = new WeakMap(); verified.set(cert, byIssuer); }
  byIssuer.set(issuer, ok);
  return ok;
};

function checkValidity(cert: X509Certificate, what: string, now: Date): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) fail('SNP_CERT_NOT_YET_VALID', `the ${what} is not valid until ${from.toISOString()} (checked as of ${now.toISOString()})`);
  if (now > to) fail('SNP_CERT_EXPIRED', `the ${what} expired at ${to.toISOString()} (checked as of ${now.toISOString()}); fetch a current certificate`);
}

/**
 * Verifies VEK ← ASK/ASVK ← ARK for the product: signatures (RSA-PSS
 * SHA-384), validity at `now`, the product name, and the CRL when given.
 * `reportProduct` (from CPUID, v3+) decides the product; without it the
 * VEK's issuer does, among the trusted products.
 */
export function verifyVekChain(
  vek: Vek, reportProduct: string | undefined, trusted: Record<string, ProductRoots>, now: Date, crl?: Uint8Array,
): VerifiedChain {
  const issuerOf = (r: ParsedRoots): X509Certificate => (vek.kind === 'VLEK' ? r.asvk : r.ask);
  const signer = (product: string): ParsedRoots | undefined => {
    const roots = trusted[product];
    if (!roots) return undefined;
    const parsed = parsedRoots(roots);
    return signs(issuerOf(parsed), vek.cert) ? parsed : undefined;
  };
  const named = productFromName(vek.productName);
  let product = reportProduct;
  let roots: ParsedRoots | undefined;
  if (product !== undefined) {
    if (!trusted[product]) fail('SNP_PRODUCT_UNTRUSTED', `no AMD roots are trusted for ${product}`);
    roots = signer(product);
    if (!roots) {
      const other = Object.keys(trusted).find((p) => p !== product && signer(p));
      if (other) fail('SNP_PRODUCT_MISMATCH', `the report comes from a ${product} chip but its ${vek.kind} was issued for ${other}: use the ${product} certificate`);
      fail('SNP_VEK_SIGNATURE_INVALID', `the ${vek.kind} is not signed by AMD's ${product} ${vek.kind === 'VLEK' ? 'ASVK' : 'ASK'}: it was altered or is not AMD's`);
    }
  } else {
    const order = [...(named && trusted[named] ? [named] : []), ...Object.keys(trusted).filter((p) => p !== named)];
    product = order.find((p) => (roots = signer(p)) !== undefined);
    if (!product || !roots) return fail('SNP_VEK_SIGNATURE_INVALID', `the ${vek.kind} is not signed by any trusted AMD ${vek.kind === 'VLEK' ? 'ASVK' : 'ASK'}: it was altered or is not AMD's`);
  }
  if (named !== undefined && named !== product) fail('SNP_PRODUCT_MISMATCH', `the ${vek.kind} names product ${vek.productName} but is used for ${product}`);
  const issuer = issuerOf(roots!);
  checkValidity(vek.cert, vek.kind, now);
  checkValidity(issuer, vek.kind === 'VLEK' ? 'ASVK' : 'ASK', now);
  checkValidity(roots!.ark, 'ARK', now);
  let crlChecked = false;
  if (crl) {
    const checked = checkCrl(crl, roots!.ark, now, { what: `AMD's ${product} CRL`, invalid: 'SNP_CRL_INVALID', expired: 'SNP_CRL_INVALID', refresh: 'fetch a fresh one from AMD KDS' });
    for (const [c, what] of [[issuer, vek.kind === 'VLEK' ? 'ASVK' : 'ASK'], [vek.cert, vek.kind]] as const) {
      if (checked.revokedSerials.has(serialKey(c.serialNumber))) fail('SNP_REVOKED', `AMD's ${product} CRL revokes the ${what} (serial ${c.serialNumber}): the chip or its signing key is no longer trusted`);
    }
    crlChecked = true;
  }
  return { product: product!, roots: roots!, issuer, crlChecked };
}
