import { createPublicKey, type KeyObject } from 'node:crypto';
import { ByteReader, CloakError, toBase64Url } from '../../lib/index.ts';
import { TPM_ALG, TPM_ECC_NIST_P256 } from './constants.ts';

const CODE = 'TPM_PUBLIC_MALFORMED';

/** Skips a scheme whose details are one hash algorithm unless the scheme is TPM_ALG_NULL. */
function schemeWithHash(r: ByteReader, field: string): number {
  const scheme = r.u16be(field);
  if (scheme !== TPM_ALG.NULL) r.u16be(`${field} hash`);
  return scheme;
}

/**
 * Parses a TPMT_PUBLIC (or a TPM2B_PUBLIC, as tpm2_readpublic / tpm2_createak
 * `-u` write it) holding an RSA or ECC P-256 key into a Node KeyObject.
 */
export function parseTpmPublic(buf: Buffer): {
  key: KeyObject;
  type: 'rsa' | 'ecc';
  nameAlg: number;
  attributes: number;
} {
  let body = buf;
  if (buf.length >= 2 && buf.readUInt16BE(0) === buf.length - 2) body = buf.subarray(2);
  const r = new ByteReader(body, CODE, 'TPM public area (TPMT_PUBLIC)');
  const type = r.u16be('type');
  const nameAlg = r.u16be('nameAlg');
  const attributes = r.u32be('objectAttributes');
  r.u16Sized(64, 'authPolicy');
  const sym = r.u16be('symmetric');
  if (sym !== TPM_ALG.NULL) {
    r.u16be('symmetric keyBits');
    r.u16be('symmetric mode');
  }
  let key: KeyObject;
  try {
    if (type === TPM_ALG.RSA) {
      schemeWithHash(r, 'scheme');
      const bits = r.u16be('keyBits');
      if (![1024, 2048, 3072, 4096].includes(bits)) throw new CloakError(CODE, `RSA key size ${bits} is not supported`);
      const exp = r.u32be('exponent') || 65537;
      const n = r.u16Sized(512, 'modulus');
      if (n.length * 8 !== bits) throw new CloakError(CODE, `RSA modulus is ${n.length} bytes for a ${bits}-bit key`);
      const e = Buffer.alloc(4);
      e.writeUInt32BE(exp);
      let i = 0;
      while (i < 3 && e[i] === 0) i++;
      if (r.remaining !== 0) throw new CloakError(CODE, `TPMT_PUBLIC has ${r.remaining} trailing bytes`);
      key = createPublicKey({ key: { kty: 'RSA', n: toBase64Url(n), e: toBase64Url(e.subarray(i)) }, format: 'jwk' });
      return { key, type: 'rsa', nameAlg, attributes };
    }
    if (type === TPM_ALG.ECC) {
      schemeWithHash(r, 'scheme');
      const curve = r.u16be('curveID');
      if (curve !== TPM_ECC_NIST_P256)
        throw new CloakError(
          'TPM_PUBLIC_UNSUPPORTED',
          `ECC curve 0x${curve.toString(16)} is not supported (NIST P-256 only)`,
        );
      schemeWithHash(r, 'kdf');
      const x = r.u16Sized(32, 'x');
      const y = r.u16Sized(32, 'y');
      if (x.length !== 32 || y.length !== 32) throw new CloakError(CODE, 'P-256 point coordinates must be 32 bytes');
      if (r.remaining !== 0) throw new CloakError(CODE, `TPMT_PUBLIC has ${r.remaining} trailing bytes`);
      key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: toBase64Url(x), y: toBase64Url(y) }, format: 'jwk' });
      return { key, type: 'ecc', nameAlg, attributes };
    }
  } catch (e) {
    if (e instanceof CloakError) throw e;
    throw new CloakError(CODE, 'the TPM public area does not hold a valid public key', { cause: e });
  }
  throw new CloakError('TPM_PUBLIC_UNSUPPORTED', `TPM key type 0x${type.toString(16)} is not supported (RSA, ECC)`);
}

/**
 * Reads an attestation key given as PEM (SPKI), base64 DER SPKI (CoCo's `tpm`
 * evidence `ak_public`), raw DER, or a TPMT_PUBLIC / TPM2B_PUBLIC.
 */
export function readAkPublic(input: string | Buffer): KeyObject {
  try {
    if (typeof input === 'string') {
      if (input.includes('-----BEGIN')) return createPublicKey({ key: input, format: 'pem' });
      if (!/^[A-Za-z0-9+/=\s]+$/.test(input))
        throw new CloakError('TPM_AK_MALFORMED', 'the attestation key is neither PEM nor base64');
      return readAkPublic(Buffer.from(input, 'base64'));
    }
    if (input[0] === 0x30) return createPublicKey({ key: input, format: 'der', type: 'spki' });
  } catch (e) {
    if (e instanceof CloakError) throw e;
    throw new CloakError('TPM_AK_MALFORMED', 'the attestation key is not a valid public key', { cause: e });
  }
  return parseTpmPublic(input).key;
}

/** The SPKI DER of a key: what trusted-AK lists pin (by SHA-256, as trustee does). */
export function spkiDer(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' });
}
