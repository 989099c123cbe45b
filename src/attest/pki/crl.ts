import { constants, createHash, verify, type X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { CloakError, revokedSerials, x509, type ErrorCode } from '../../lib/index.ts';
import { cacheSlot, type VerifyCache } from '../cache.ts';

/**
 * Certificate revocation lists for every vendor chain (AMD KDS, Intel PCS):
 * DER, PEM or hex of DER; signed with ECDSA or RSA-PSS (AMD's, which
 * WebCrypto cannot take from a certificate key, so Node's crypto checks the
 * signature over the CRL's TBS bytes); issued by the expected CA; valid at
 * `now`.
 */

/** How a caller names a CRL and its failures: the stable codes and what a user can do about a stale one. */
export interface CrlUse {
  /** "the PCK CRL", "AMD's Milan CRL". */
  what: string;
  /** Code for a CRL that does not parse, is not the issuer's or is not signed by it. */
  invalid: ErrorCode;
  /** Code for a CRL (or document) outside its validity window at `now`. */
  expired: ErrorCode;
  /** What to do then, e.g. "fetch fresh collateral". */
  refresh: string;
}

export interface CheckedCrl {
  revokedSerials: Set<string>;
  thisUpdate: Date;
  nextUpdate?: Date;
}

const fail = (code: ErrorCode, message: string, cause?: unknown): never => {
  throw new CloakError(code, message, { cause });
};

/** Parses a CRL given as DER bytes, PEM (bytes or text) or hex of DER. */
export function parseCrl(data: Uint8Array | string, code: ErrorCode, what: string): x509.X509Crl {
  try {
    if (typeof data === 'string') {
      const t = data.trim();
      return /^[0-9a-fA-F]+$/.test(t) ? new x509.X509Crl(Buffer.from(t, 'hex')) : new x509.X509Crl(t);
    }
    const buf = Buffer.from(data);
    const text = buf.toString('latin1');
    return text.includes('-----BEGIN') ? new x509.X509Crl(text) : new x509.X509Crl(buf);
  } catch (e) {
    return fail(code, `${what} is not a valid CRL`, e);
  }
}

/** The TBS bytes and the signature of a CRL's DER (CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }). */
function tbsAndSignature(crl: x509.X509Crl): { tbs: Buffer; signature: Buffer } | undefined {
  const r = asn1js.fromBER(crl.rawData);
  if (r.offset === -1 || !(r.result instanceof asn1js.Sequence)) return undefined;
  const [tbs, , sig] = r.result.valueBlock.value;
  if (!(tbs instanceof asn1js.Sequence) || !(sig instanceof asn1js.BitString)) return undefined;
  return { tbs: Buffer.from(tbs.valueBeforeDecodeView), signature: Buffer.from(sig.valueBlock.valueHexView) };
}

const HASHES: Record<string, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

/** Whether `issuer`'s key signed the CRL, with the algorithm the CRL names (ECDSA, RSA-PSS with its salt, RSA PKCS#1 v1.5). */
export function crlSignedBy(crl: x509.X509Crl, issuer: X509Certificate): boolean {
  const alg = crl.signatureAlgorithm as { name: string; hash?: { name: string }; saltLength?: number };
  const hash = HASHES[alg.hash?.name ?? ''];
  const parts = tbsAndSignature(crl);
  if (!hash || !parts) return false;
  const { tbs, signature } = parts;
  try {
    if (alg.name === 'ECDSA') return verify(hash, tbs, issuer.publicKey, signature);
    if (alg.name === 'RSA-PSS')
      return verify(
        hash,
        tbs,
        { key: issuer.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.saltLength ?? 32 },
        signature,
      );
    if (alg.name === 'RSASSA-PKCS1-v1_5') return verify(hash, tbs, issuer.publicKey, signature);
    return false;
  } catch {
    return false;
  }
}

/** A document's validity window (a CRL's this/next update, TCB info's issue date and next update) at `now`. */
export function checkWindow(
  issued: Date,
  nextUpdate: Date | undefined,
  now: Date,
  code: ErrorCode,
  what: string,
  refresh: string,
): void {
  if (now < issued || (nextUpdate && now > nextUpdate)) {
    fail(
      code,
      `${what} is not valid at ${now.toISOString()} (issued ${issued.toISOString()}, next update ${nextUpdate?.toISOString() ?? 'none'}); ${refresh}`,
    );
  }
}

const CHECKED = cacheSlot<CheckedCrl>('pki.crl', 64);

/**
 * Parses `data`, checks it is issued and signed by `issuer` and valid at
 * `now`, and returns what it revokes. With a cache, a CRL's signature is
 * checked once per content and issuer (the same CRL serves every report of a
 * product).
 */
export function checkCrl(
  data: Uint8Array | string,
  issuer: X509Certificate,
  now: Date,
  use: CrlUse,
  cache?: VerifyCache,
): CheckedCrl {
  const key =
    cache &&
    `${issuer.fingerprint256}:${createHash('sha256')
      .update(typeof data === 'string' ? Buffer.from(data) : data)
      .digest('base64')}`;
  let crl = key === undefined ? undefined : cache!.of(CHECKED).get(key);
  if (!crl) {
    const parsed = parseCrl(data, use.invalid, use.what);
    if (parsed.issuer !== new x509.X509Certificate(issuer.raw).subject)
      fail(use.invalid, `${use.what} is not issued by "${issuer.subject.split('\n')[0]}"`);
    if (!crlSignedBy(parsed, issuer))
      fail(
        use.invalid,
        `${use.what}: its signature does not verify with its issuer "${issuer.subject.split('\n')[0]}"`,
      );
    crl = { revokedSerials: revokedSerials(parsed), thisUpdate: parsed.thisUpdate, nextUpdate: parsed.nextUpdate };
    if (key !== undefined) cache!.of(CHECKED).set(key, crl);
  }
  checkWindow(crl.thisUpdate, crl.nextUpdate, now, use.expired, use.what, use.refresh);
  return crl;
}
