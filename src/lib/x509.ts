// @peculiar/x509 needs the reflect polyfill loaded first and a WebCrypto provider.
import 'reflect-metadata';
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CloakError } from './errors.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

/** A serial number as Node and @peculiar/x509 print it (hex), in one form for comparing: lower case, no leading zeros. */
export const serialKey = (hex: string): string => hex.toLowerCase().replace(/^0+(?=.)/, '');

/** The serial numbers a CRL revokes, as `serialKey`s. */
export const revokedSerials = (crl: x509.X509Crl): Set<string> =>
  new Set(crl.entries.map((e) => serialKey(e.serialNumber)));

/** `sha256:<hex>` over the DER of the first certificate in a PEM text. */
export function certificateFingerprint(pem: string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new CloakError('TLS_CERT_INVALID', 'not a PEM certificate');
  }
  return 'sha256:' + createHash('sha256').update(cert.raw).digest('hex');
}
