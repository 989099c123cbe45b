import { createPublicKey, createHash, hash, verify, type KeyObject, type X509Certificate } from 'node:crypto';
import { CloakError, serialKey, x509, type ErrorCode } from '../../lib/index.ts';
import { checkCrl, checkWindow, type CrlUse } from '../pki/crl.ts';
import { intelRoot, verifyIntelChain } from './chain.ts';
import type { DcapTee, PckCa, QuoteCollateral } from './collateral.ts';
import { parsePckExtensions, SGX_EXTENSIONS_OID, type PckExtensions } from './pck-extensions.ts';
import { parseQuote, type Quote } from './quote.ts';
import { parseQeIdentity, parseTcbInfo, verifyCollateralSignature, type QeIdentity, type TcbInfo } from './tcb-info.ts';
import { cached, cacheSlot, derived, type VerifyCache } from '../cache.ts';

const fail = (code: ErrorCode, message: string): never => {
  throw new CloakError(code, message);
};

/** A quote whose signatures and PCK chain verified; collateral not yet applied. */
export interface SignedQuote {
  quote: Quote;
  /** PCK leaf, intermediate CA, root. */
  pckChain: X509Certificate[];
  pck: PckExtensions;
  pckCa: PckCa;
}

/** Attestation keys live as long as the quoting enclave's key: the same few recur on every quote of a host. */
const ATTESTATION_KEYS = cacheSlot<KeyObject>('dcap.attestation-key', 1024);

function attestationKey(raw: Buffer, cache?: VerifyCache): KeyObject {
  return cache
    ? cached(cache, ATTESTATION_KEYS, raw.toString('latin1'), () => importAttestationKey(raw))
    : importAttestationKey(raw);
}

function importAttestationKey(raw: Buffer): KeyObject {
  try {
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: raw.subarray(0, 32).toString('base64url'),
        y: raw.subarray(32, 64).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch (e) {
    throw new CloakError('DCAP_ATTESTATION_KEY_INVALID', 'the quote attestation key is not a P-256 point', {
      cause: e,
    });
  }
}

const verifyP1363 = (data: Buffer, key: KeyObject, sig: Buffer): boolean =>
  verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);

function pckExtensionsOf(cert: X509Certificate): PckExtensions {
  const ext = new x509.X509Certificate(cert.raw).getExtension(SGX_EXTENSIONS_OID);
  if (!ext) fail('DCAP_PCK_EXTENSION_MALFORMED', 'the PCK certificate has no SGX extension');
  return parsePckExtensions(Buffer.from(ext!.value));
}

interface VerifiedPck {
  pemData: Buffer;
  pckChain: X509Certificate[];
  pck: PckExtensions;
  pckCa: PckCa;
  pckKey: KeyObject;
  from: Date;
  until: Date;
}
const PCK_KEY_PREFIX = 128;
const PCKS = cacheSlot<VerifiedPck>('dcap.pck', 1024);

/** The quote's PCK chain verified to the root, its SGX extensions parsed; with a cache, reused while `now` is inside every certificate's validity. */
function verifiedPck(pemData: Buffer, now: Date, root: X509Certificate, cache?: VerifyCache): VerifiedPck {
  // Keyed by the root and the PEM text of the leaf's first bytes (its serial number is there), confirmed by comparing all of it.
  const key = cache && `${root.fingerprint256}:${pemData.length}:${pemData.toString('latin1', 0, PCK_KEY_PREFIX)}`;
  const hit = key === undefined ? undefined : cache!.of(PCKS).get(key);
  if (hit && hit.pemData.equals(pemData) && now >= hit.from && now <= hit.until) return hit;
  const pckChain = verifyIntelChain(
    pemData.toString('latin1'),
    { what: 'the quote PCK chain', invalid: 'DCAP_PCK_CHAIN_INVALID', expired: 'DCAP_PCK_CERT_EXPIRED' },
    now,
    root,
    undefined,
    cache,
  );
  const v: VerifiedPck = {
    pemData: Buffer.from(pemData),
    pckChain,
    pck: pckExtensionsOf(pckChain[0]!),
    pckCa: pckChain[1]!.subject.includes('Platform') ? 'platform' : 'processor',
    pckKey: pckChain[0]!.publicKey,
    from: new Date(Math.max(...pckChain.map((c) => new Date(c.validFrom).getTime()))),
    until: new Date(Math.min(...pckChain.map((c) => new Date(c.validTo).getTime()))),
  };
  if (key !== undefined) cache!.of(PCKS).set(key, v);
  return v;
}

/**
 * Step 1, hardware only: PCK chain to the pinned Intel root at `now`, the
 * PCK's signature over the QE report, the QE report binding the attestation
 * key, and the attestation key's signature over header + body.
 */
export function verifyQuoteSignatures(
  bytes: Uint8Array,
  tee: DcapTee,
  now: Date,
  root: X509Certificate = intelRoot(),
  cache?: VerifyCache,
): SignedQuote {
  const quote = parseQuote(bytes);
  const expected = tee === 'sgx' ? 'sgx' : 'td';
  if (!quote.body.kind.startsWith(expected)) fail('DCAP_QUOTE_WRONG_TEE', `this is not a ${tee.toUpperCase()} quote`);
  const { qe, attestationKey: akRaw, signature } = quote.signatureData;
  if (qe.certification.type !== 5)
    fail(
      'DCAP_CERT_DATA_UNSUPPORTED',
      `QE certification data type ${qe.certification.type} is not supported: the quote must carry the PCK chain (type 5)`,
    );
  const { pckChain, pck, pckCa, pckKey } = verifiedPck(qe.certification.data, now, root, cache);
  if (!verifyP1363(qe.qeReport, pckKey, qe.qeReportSignature))
    fail('DCAP_QE_REPORT_SIGNATURE_INVALID', 'the QE report is not signed by the PCK certificate');
  const binding = hash('sha256', Buffer.concat([akRaw, qe.qeAuthData]), 'buffer');
  const rd = qe.qeReportParsed.reportData;
  if (!rd.subarray(0, 32).equals(binding) || rd.subarray(32).some((b) => b !== 0))
    fail(
      'DCAP_QE_REPORT_DATA_MISMATCH',
      'the QE report does not bind this attestation key (report data ≠ SHA-256(key ‖ QE auth data))',
    );
  if (!verifyP1363(quote.signedBytes, attestationKey(akRaw, cache), signature))
    fail('DCAP_QUOTE_SIGNATURE_INVALID', 'the quote signature does not verify with its attestation key');
  return { quote, pckChain, pck, pckCa };
}

export interface VerifiedCollateral {
  tcbInfo: TcbInfo;
  qeIdentity: QeIdentity;
}

const REFRESH = 'fetch fresh collateral';
const crlUse = (what: string): CrlUse => ({
  what,
  invalid: 'DCAP_CRL_INVALID',
  expired: 'DCAP_COLLATERAL_EXPIRED',
  refresh: REFRESH,
});

export interface CollateralDocs extends VerifiedCollateral {
  pckCrlIssuer: X509Certificate;
  pckCrlSerials: Set<string>;
  rootCrlSerials: Set<string>;
  /** The window in which every document, CRL and certificate checked is valid. */
  from: Date;
  until: Date;
}

const DOCS = cacheSlot<CollateralDocs>('dcap.collateral-docs', 64);
const CONTENT_HASHES = cacheSlot<string>('dcap.collateral-hash', 0);

function cacheKey(c: QuoteCollateral, tee: DcapTee, root: X509Certificate, cache: VerifyCache): string {
  // Content-addressed, so a mutated copy never hits; deriving the hash per object spares re-hashing the same one (callers must not mutate it in place).
  return `${tee}:${root.fingerprint256}:${derived(cache, CONTENT_HASHES, c, () => contentHash(c))}`;
}

function contentHash(c: QuoteCollateral): string {
  const h = createHash('sha256');
  for (const v of [
    c.pckCrlIssuerChain,
    c.rootCaCrl,
    c.pckCrl,
    c.tcbInfoIssuerChain,
    c.tcbInfo,
    c.tcbInfoSignature,
    c.qeIdentityIssuerChain,
    c.qeIdentity,
    c.qeIdentitySignature,
  ]) {
    h.update(typeof v === 'string' ? Buffer.from(v) : v).update('\0');
  }
  return h.digest('hex');
}

/**
 * Step 2: CRLs (root CA CRL, PCK CRL) against the quote's chain, TCB info and
 * QE identity against the Intel TCB signing chain, all at `now`. Documents
 * already verified are reused while `now` stays inside their validity window.
 */
export async function verifyCollateral(
  signed: SignedQuote,
  c: QuoteCollateral,
  tee: DcapTee,
  now: Date,
  root: X509Certificate = intelRoot(),
  cache?: VerifyCache,
): Promise<VerifiedCollateral> {
  return applyCollateral(signed, await collateralDocuments(c, tee, now, root, cache));
}

/**
 * The verified documents of `c` at `now`: synchronously when they were
 * verified before and `now` is inside their window (the per-quote path, which
 * then costs no promise), else a promise of verifying them.
 */
export function collateralDocuments(
  c: QuoteCollateral,
  tee: DcapTee,
  now: Date,
  root: X509Certificate = intelRoot(),
  cache?: VerifyCache,
): CollateralDocs | Promise<CollateralDocs> {
  if (!cache) return verifyDocuments(c, tee, now, root);
  const key = cacheKey(c, tee, root, cache);
  const docs = cache.of(DOCS).get(key);
  if (docs && now >= docs.from && now <= docs.until) return docs;
  return verifyDocuments(c, tee, now, root, cache).then((fresh) => cache.of(DOCS).set(key, fresh));
}

/** Revocation of the quote's PCK chain by the verified CRLs; returns the TCB info and QE identity to appraise against. */
export function applyCollateral(signed: SignedQuote, docs: CollateralDocs): VerifiedCollateral {
  const [pckCert, pckCa] = signed.pckChain;
  if (!docs.pckCrlIssuer.raw.equals(pckCa!.raw))
    fail('DCAP_CRL_INVALID', "the PCK CRL is issued by a different CA than the quote's PCK certificate");
  if (docs.rootCrlSerials.has(serialKey(pckCa!.serialNumber)))
    fail('DCAP_PCK_REVOKED', 'the PCK issuing CA is revoked by the Intel SGX Root CA CRL');
  if (docs.pckCrlSerials.has(serialKey(pckCert!.serialNumber)))
    fail('DCAP_PCK_REVOKED', 'the PCK certificate is revoked (listed in the PCK CRL)');
  return { tcbInfo: docs.tcbInfo, qeIdentity: docs.qeIdentity };
}

async function verifyDocuments(
  c: QuoteCollateral,
  tee: DcapTee,
  now: Date,
  root: X509Certificate,
  cache?: VerifyCache,
): Promise<CollateralDocs> {
  const rootCrlUse = crlUse('the Intel SGX Root CA CRL');
  const rootCrl = checkCrl(c.rootCaCrl, root, now, rootCrlUse, cache);
  // The Intel signing certificates of the collateral must not be revoked by the root CA's CRL.
  const signingChain = (pem: string, what: string, invalid: ErrorCode): X509Certificate[] =>
    verifyIntelChain(
      pem,
      { what, invalid, expired: 'DCAP_COLLATERAL_EXPIRED', revoked: 'DCAP_TCB_SIGNING_CHAIN_INVALID' },
      now,
      root,
      [{ data: c.rootCaCrl, issuer: root, use: rootCrlUse }],
      cache,
    );
  const crlChain = signingChain(c.pckCrlIssuerChain, 'the PCK CRL issuer chain', 'DCAP_CRL_INVALID');
  const pckCrl = checkCrl(c.pckCrl, crlChain[0]!, now, crlUse('the PCK CRL'), cache);

  const tcbChain = signingChain(c.tcbInfoIssuerChain, 'the TCB info issuer chain', 'DCAP_TCB_SIGNING_CHAIN_INVALID');
  verifyCollateralSignature(c.tcbInfo, c.tcbInfoSignature, tcbChain[0]!, 'DCAP_TCB_INFO_SIGNATURE_INVALID', 'TCB info');
  const qeChain = signingChain(
    c.qeIdentityIssuerChain,
    'the QE identity issuer chain',
    'DCAP_TCB_SIGNING_CHAIN_INVALID',
  );
  verifyCollateralSignature(
    c.qeIdentity,
    c.qeIdentitySignature,
    qeChain[0]!,
    'DCAP_QE_IDENTITY_SIGNATURE_INVALID',
    'QE identity',
  );
  const rootCrlSerials = rootCrl.revokedSerials;

  const tcbInfo = parseTcbInfo(c.tcbInfo);
  const qeIdentity = parseQeIdentity(c.qeIdentity);
  if (tcbInfo.id !== (tee === 'tdx' ? 'TDX' : 'SGX'))
    fail('DCAP_COLLATERAL_MISMATCH', `the TCB info is for ${tcbInfo.id}, not ${tee.toUpperCase()}`);
  if (qeIdentity.id !== (tee === 'tdx' ? 'TD_QE' : 'QE'))
    fail(
      'DCAP_COLLATERAL_MISMATCH',
      `the QE identity is for ${qeIdentity.id}, not the ${tee.toUpperCase()} quoting enclave`,
    );
  checkWindow(tcbInfo.issueDate, tcbInfo.nextUpdate, now, 'DCAP_COLLATERAL_EXPIRED', 'the TCB info', REFRESH);
  checkWindow(qeIdentity.issueDate, qeIdentity.nextUpdate, now, 'DCAP_COLLATERAL_EXPIRED', 'the QE identity', REFRESH);

  const certs = [...crlChain, ...tcbChain, ...qeChain];
  const from = new Date(
    Math.max(
      rootCrl.thisUpdate.getTime(),
      pckCrl.thisUpdate.getTime(),
      tcbInfo.issueDate.getTime(),
      qeIdentity.issueDate.getTime(),
      ...certs.map((x) => new Date(x.validFrom).getTime()),
    ),
  );
  const until = new Date(
    Math.min(
      rootCrl.nextUpdate?.getTime() ?? Infinity,
      pckCrl.nextUpdate?.getTime() ?? Infinity,
      tcbInfo.nextUpdate.getTime(),
      qeIdentity.nextUpdate.getTime(),
      ...certs.map((x) => new Date(x.validTo).getTime()),
    ),
  );
  return {
    tcbInfo,
    qeIdentity,
    from,
    until,
    pckCrlIssuer: crlChain[0]!,
    pckCrlSerials: pckCrl.revokedSerials,
    rootCrlSerials,
  };
}
