// @peculiar/x509 needs the reflect polyfill loaded first and a WebCrypto provider.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

/** A serial number as Node and @peculiar/x509 print it (hex), in one form for comparing: lower case, no leading zeros. */
export const serialKey = (hex: string): string => hex.toLowerCase().replace(/^0+(?=.)/, '');

/** The serial numbers a CRL revokes, as `serialKey`s. */
export const revokedSerials = (crl: x509.X509Crl): Set<string> =>
  new Set(crl.entries.map((e) => serialKey(e.serialNumber)));
