import { constants, verify, type X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { CloakError, revokedSerials, serialKey, x509 } from '../../lib/index.ts';

const fail = (message: string, cause?: unknown): never => { throw new CloakError('SNP_CRL_INVALID', message, { status: 401, cause }); };

/** A CRL checked against its issuer (the ARK) and time. */
export interface CheckedCrl {
  revokedSerials: Set<string>;
  thisUpdate: Date;
  nextUpdate?: Date;
}

/** The TBS bytes and signature of a CRL, split with asn1js (AMD signs CRLs with RSA-PSS, which WebCrypto can't take from a certificate key). */
function tbsAndSignature(der: Buffer): { tbs: Buffer; signature: Buffer } {
  const ab = der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
  const r = asn1js.fromBER(ab);
  if (r.offset === -1 || !(r.result instanceof asn1js.Sequence)) return fail('the CRL is not DER');
  const [tbs, , sig] = r.result.valueBlock.value;
  if (!(tbs instanceof asn1js.Sequence) || !(sig instanceof asn1js.BitString)) return fail('the CRL is not a CertificateList');
  return { tbs: Buffer.from(tbs.valueBeforeDecodeView), signature: Buffer.from(sig.valueBlock.valueHexView) };
}

/** Signature algorithm of the issuer's key: RSA → RSA-PSS SHA-384 salt 48 (AMD), EC → ECDSA SHA-384. */
export function verifySignedBy(tbs: Buffer, signature: Buffer, issuer: X509Certificate): boolean {
  const key = issuer.publicKey;
  try {
    if (key.asymmetricKeyType === 'ec') return verify('sha384', tbs, key, signature);
    return verify('sha384', tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, signature);
  } catch {
    return false;
  }
}

const cache = new Map<string, CheckedCrl>();

/** Parses a DER (or PEM) CRL, checks it is issued and signed by `issuer` and current at `now`. Signature results are cached by content. */
export function checkCrl(input: Uint8Array, issuer: X509Certificate, now: Date): CheckedCrl {
  const key = `${issuer.fingerprint256}:${Buffer.from(input).toString('base64')}`;
  let checked = cache.get(key);
  if (!checked) {
    checked = parseAndVerify(input, issuer);
    if (cache.size >= 64) cache.delete(cache.keys().next().value!);
    cache.set(key, checked);
  }
  if (checked.thisUpdate.getTime() > now.getTime()) fail(`the CRL is not valid until ${checked.thisUpdate.toISOString()}`);
  if (checked.nextUpdate && checked.nextUpdate.getTime() < now.getTime()) fail(`the CRL expired at ${checked.nextUpdate.toISOString()}: fetch a fresh one`);
  return checked;
}

function parseAndVerify(input: Uint8Array, issuer: X509Certificate): CheckedCrl {
  let crl: x509.X509Crl;
  let der: Buffer;
  try {
    const text = Buffer.from(input).toString('latin1');
    crl = new x509.X509Crl(text.includes('-----BEGIN') ? text : Buffer.from(input));
    der = Buffer.from(crl.rawData);
  } catch (e) {
    return fail('the AMD CRL does not parse', e);
  }
  const { tbs, signature } = tbsAndSignature(der);
  if (!verifySignedBy(tbs, signature, issuer)) fail('the CRL is not signed by the product\'s ARK');
  return {
    revokedSerials: revokedSerials(crl),
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
  };
}

export const serialOf = (cert: X509Certificate): string => serialKey(cert.serialNumber);
