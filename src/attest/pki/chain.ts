import type { X509Certificate } from 'node:crypto';
import { CloakError, serialKey, type ErrorCode } from '../../lib/index.ts';
import { cached, cacheSlot, type VerifyCache } from '../cache.ts';
import { checkCrl, type CrlUse } from './crl.ts';

/**
 * The one certificate-chain walker of every vendor chain (AMD VCEK/VLEK →
 * ASK/ASVK → ARK, Intel PCK → Platform/Processor CA → SGX Root CA and the TCB
 * signing chains, the simulated device → sim root): leaf → intermediates →
 * a trusted root, each link's issuer/subject linkage and signature checked
 * (Node's crypto: RSA-PSS as AMD signs, ECDSA as Intel and sim do), every
 * issuer a CA, every certificate valid at `now`, and the CRLs the caller
 * has applied to the certificates their issuer issued.
 */

/** How a caller names a chain and its failures: the stable codes its tests and users switch on. */
export interface ChainUse {
  /** "the quote PCK chain", "AMD's Milan VCEK chain". */
  what: string;
  /** Code for a chain that does not link up to a trusted root, or a link not signed by its issuer. */
  invalid: ErrorCode;
  /** Code for a certificate past its notAfter at `now`. */
  expired: ErrorCode;
  /** Code for a certificate before its notBefore (default: `expired`). */
  notYetValid?: ErrorCode;
  /** Code for a certificate a CRL revokes (default: `invalid`). */
  revoked?: ErrorCode;
  /** What to call each certificate, leaf first ("VCEK", "ASK", "ARK"); default its subject. */
  names?: readonly string[];
}

/** A CRL to apply: it must be issued and signed by `issuer` (one of the path's certificates) and valid at `now`. */
export interface ChainCrl {
  data: Uint8Array | string;
  issuer: X509Certificate;
  use: CrlUse;
  /** Which certificates it speaks for: those `issuer` issued (default), or every one below it (AMD's ARK CRL is read for the VEK too). */
  covers?: 'issued' | 'below';
}

export interface WalkOptions {
  now: Date;
  /** The trusted roots: the path ends at one of them (given in the chain or found by the last certificate's issuer). */
  anchors: readonly X509Certificate[];
  crls?: readonly ChainCrl[];
  cache?: VerifyCache;
}

export interface VerifiedPath {
  /** Leaf first, the trusted root last. */
  certs: X509Certificate[];
  /** When every certificate of the path is valid. */
  from: Date;
  until: Date;
}

const fail = (code: ErrorCode, message: string): never => {
  throw new CloakError(code, message);
};
const subjectOf = (c: X509Certificate): string => c.subject.split('\n')[0]!;

/** Signature results per (certificate, issuer) pair: a chain's links recur on every report of a host. */
const ISSUED = cacheSlot<boolean>('pki.issued', 4096);
/** Paths whose links verified, by their certificates. */
const PATHS = cacheSlot<VerifiedPath>('pki.path', 1024);

/** Whether `issuer` issued `cert`: names and key identifiers link (OpenSSL's check) and `issuer`'s key verifies the signature. */
export function issuedBy(cert: X509Certificate, issuer: X509Certificate, cache?: VerifyCache): boolean {
  return cached(cache, ISSUED, `${cert.fingerprint256}<${issuer.fingerprint256}`, () => {
    try {
      return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
    } catch {
      return false;
    }
  });
}

/** The chain ending at a trusted root: the given root when the chain ends with one, else the root that issued its last certificate. */
function pathTo(
  chain: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  use: ChainUse,
  cache?: VerifyCache,
): X509Certificate[] {
  if (chain.length === 0) return fail(use.invalid, `${use.what} is empty`);
  const last = chain[chain.length - 1]!;
  if (anchors.some((a) => a.raw.equals(last.raw))) return [...chain];
  if (last.subject === last.issuer)
    return fail(use.invalid, `${use.what} ends in a root that is not a trusted one ("${subjectOf(last)}")`);
  const root = anchors.find((a) => a.subject === last.issuer && issuedBy(last, a, cache));
  if (!root) return fail(use.invalid, `${use.what}: "${subjectOf(last)}" was not issued by a trusted root`);
  return [...chain, root];
}

function checkValidity(cert: X509Certificate, name: string, now: Date, use: ChainUse): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from)
    fail(
      use.notYetValid ?? use.expired,
      `${use.what}: the ${name} is not valid until ${from.toISOString()} (checked as of ${now.toISOString()})`,
    );
  if (now > to)
    fail(
      use.expired,
      `${use.what}: the ${name} expired at ${to.toISOString()} (checked as of ${now.toISOString()}); fetch a current certificate`,
    );
}

/**
 * Verifies `chain` (leaf first; it may end with the trusted root or one
 * below it) at `opts.now` and returns the path up to the root. A path whose
 * links verified before is reused while `now` is inside every certificate's
 * validity; CRLs are applied on every call.
 */
export function walkChain(chain: readonly X509Certificate[], use: ChainUse, opts: WalkOptions): VerifiedPath {
  const certs = pathTo(chain, opts.anchors, use, opts.cache);
  const name = (i: number): string => use.names?.[i] ?? `certificate "${subjectOf(certs[i]!)}"`;
  const key = certs.map((c) => c.fingerprint256).join('|');
  let path = opts.cache?.of(PATHS).get(key);
  if (!path || opts.now < path.from || opts.now > path.until) {
    for (let i = 0; i < certs.length; i++) {
      const cert = certs[i]!;
      const issuer = certs[Math.min(i + 1, certs.length - 1)]!;
      if (i > 0 && !cert.ca) fail(use.invalid, `${use.what}: the ${name(i)} issues certificates but is not a CA`);
      if (!issuedBy(cert, issuer, opts.cache)) {
        fail(
          use.invalid,
          i === certs.length - 1
            ? `${use.what}: the trusted root is not self-signed`
            : `${use.what}: the ${name(i)} is not signed by the ${name(i + 1)}: it was altered or is not the vendor's`,
        );
      }
    }
    certs.forEach((c, i) => checkValidity(c, name(i), opts.now, use));
    path = {
      certs,
      from: new Date(Math.max(...certs.map((c) => new Date(c.validFrom).getTime()))),
      until: new Date(Math.min(...certs.map((c) => new Date(c.validTo).getTime()))),
    };
    opts.cache?.of(PATHS).set(key, path);
  }
  for (const crl of opts.crls ?? []) {
    const at = certs.findIndex((c) => c === crl.issuer || c.raw.equals(crl.issuer.raw));
    if (at < 0) fail(use.invalid, `${crl.use.what} is not issued by a certificate of ${use.what}`);
    const revoked = checkCrl(crl.data, certs[at]!, opts.now, crl.use, opts.cache).revokedSerials;
    for (let i = 0; i < at; i++) {
      if ((crl.covers === 'below' || certs[i + 1] === certs[at]) && revoked.has(serialKey(certs[i]!.serialNumber))) {
        fail(
          use.revoked ?? use.invalid,
          `${crl.use.what} revokes the ${name(i)} (serial ${certs[i]!.serialNumber}): it is no longer trusted`,
        );
      }
    }
  }
  return path;
}
