import { X509Certificate, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { CloakError, x509 } from '../../lib/index.ts';
import { cached, cacheSlot, type VerifyCache } from '../cache.ts';

/** AMD's VCEK/VLEK extensions (AMD "Versioned Chip Endorsement Key" spec, table 8). */
export const VEK_OIDS = {
  structVersion: '1.3.6.1.4.1.3704.1.1',
  productName: '1.3.6.1.4.1.3704.1.2',
  blSpl: '1.3.6.1.4.1.3704.1.3.1',
  teeSpl: '1.3.6.1.4.1.3704.1.3.2',
  snpSpl: '1.3.6.1.4.1.3704.1.3.3',
  ucodeSpl: '1.3.6.1.4.1.3704.1.3.8',
  fmcSpl: '1.3.6.1.4.1.3704.1.3.9',
  hwId: '1.3.6.1.4.1.3704.1.4',
  cspId: '1.3.6.1.4.1.3704.1.5',
} as const;

/** A VCEK or VLEK certificate with AMD's extensions decoded. */
export interface Vek {
  cert: X509Certificate;
  /** 'VLEK' when the certificate carries a CSP id (and no hwID), else 'VCEK'. */
  kind: 'VCEK' | 'VLEK';
  productName?: string;
  tcb: { bootloader?: number; tee?: number; snp?: number; microcode?: number; fmc?: number };
  hwId?: Buffer;
  cspId?: string;
}

const fail = (message: string, cause?: unknown): never => {
  throw new CloakError('SNP_VEK_MALFORMED', message, { cause });
};

function decode(value: ArrayBuffer, oid: string): asn1js.AsnType {
  const r = asn1js.fromBER(value);
  if (r.offset === -1 || r.offset !== value.byteLength) fail(`the VEK extension ${oid} is not one DER value`);
  return r.result;
}

function integer(value: ArrayBuffer, oid: string): number {
  const v = decode(value, oid);
  if (!(v instanceof asn1js.Integer)) return fail(`the VEK extension ${oid} is not an INTEGER`);
  const n = v.valueBlock.valueDec;
  if (!Number.isSafeInteger(n) || n < 0 || n > 255) fail(`the VEK extension ${oid} is not an SPL in 0..255`);
  return n;
}

function ia5(value: ArrayBuffer, oid: string): string {
  const v = decode(value, oid);
  if (!(v instanceof asn1js.IA5String)) return fail(`the VEK extension ${oid} is not an IA5String`);
  return v.valueBlock.value;
}

const VEKS = cacheSlot<Vek>('snp.vek', 256);

/** Parses a VEK certificate (DER or PEM) and its AMD extensions; with a cache, parsed certificates are kept (a few hundred, by content). */
export function parseVek(input: Uint8Array | string, cache?: VerifyCache): Vek {
  if (!cache) return parseVekUncached(input);
  const key =
    typeof input === 'string'
      ? input
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('base64');
  return cached(cache, VEKS, key, () => parseVekUncached(input));
}

function parseVekUncached(input: Uint8Array | string): Vek {
  let cert: X509Certificate;
  let ext: x509.X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
    ext = new x509.X509Certificate(cert.raw);
    key = cert.publicKey;
  } catch (e) {
    return fail('the VEK certificate does not parse as X.509', e);
  }
  const get = (oid: string): ArrayBuffer | undefined => ext.extensions.find((e) => e.type === oid)?.value;
  const spl = (oid: string): number | undefined => {
    const v = get(oid);
    return v === undefined ? undefined : integer(v, oid);
  };
  const name = get(VEK_OIDS.productName);
  const hw = get(VEK_OIDS.hwId);
  const csp = get(VEK_OIDS.cspId);
  const vek: Vek = {
    cert,
    kind: csp !== undefined ? 'VLEK' : 'VCEK',
    productName: name === undefined ? undefined : ia5(name, VEK_OIDS.productName),
    tcb: {
      bootloader: spl(VEK_OIDS.blSpl),
      tee: spl(VEK_OIDS.teeSpl),
      snp: spl(VEK_OIDS.snpSpl),
      microcode: spl(VEK_OIDS.ucodeSpl),
      fmc: spl(VEK_OIDS.fmcSpl),
    },
    hwId: hw === undefined ? undefined : Buffer.from(hw),
    cspId: csp === undefined ? undefined : ia5(csp, VEK_OIDS.cspId),
  };
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    fail("the VEK's key is not an ECDSA P-384 key");
  }
  return vek;
}
