import { createVerify, type KeyObject } from 'node:crypto';
import { ByteReader, CloakError } from '../../lib/index.ts';
import { tpmHash } from './attest.ts';
import { TPM_ALG } from './constants.ts';

/** A TPMT_SIGNATURE (RSASSA / RSAPSS / ECDSA), or a bare RSA signature as Azure's evidence carries it. */
export type TpmSignature =
  { alg: 'rsassa' | 'rsapss'; hashAlg: number; sig: Buffer } | { alg: 'ecdsa'; hashAlg: number; r: Buffer; s: Buffer };

const CODE = 'TPM_SIGNATURE_MALFORMED';

/** Parses a marshalled TPMT_SIGNATURE; trailing bytes are refused. */
export function parseTpmSignature(buf: Buffer): TpmSignature {
  const r = new ByteReader(buf, CODE, 'TPM signature (TPMT_SIGNATURE)');
  const sigAlg = r.u16be('sigAlg');
  const hashAlg = r.u16be('hash');
  tpmHash(hashAlg, 'TPM_SIGNATURE_UNSUPPORTED');
  let out: TpmSignature;
  if (sigAlg === TPM_ALG.RSASSA || sigAlg === TPM_ALG.RSAPSS) {
    const n = r.u16be('signature size');
    if (n < 128 || n > 512) throw new CloakError(CODE, `RSA signature is ${n} bytes (expected 128..512)`);
    out = { alg: sigAlg === TPM_ALG.RSASSA ? 'rsassa' : 'rsapss', hashAlg, sig: Buffer.from(r.bytes(n, 'signature')) };
  } else if (sigAlg === TPM_ALG.ECDSA) {
    const rn = r.u16be('r size');
    if (rn > 66) throw new CloakError(CODE, `ECDSA r is ${rn} bytes`);
    const rr = Buffer.from(r.bytes(rn, 'r'));
    const sn = r.u16be('s size');
    if (sn > 66) throw new CloakError(CODE, `ECDSA s is ${sn} bytes`);
    out = { alg: 'ecdsa', hashAlg, r: rr, s: Buffer.from(r.bytes(sn, 's')) };
  } else {
    throw new CloakError(
      'TPM_SIGNATURE_UNSUPPORTED',
      `TPM signature algorithm 0x${sigAlg.toString(16)} is not supported (RSASSA, RSAPSS, ECDSA)`,
    );
  }
  if (r.remaining !== 0) throw new CloakError(CODE, `TPM signature has ${r.remaining} trailing bytes`);
  return out;
}

/**
 * Reads either form a quote signature travels in: a TPMT_SIGNATURE, or (Azure
 * vTPM evidence) the bare RSASSA-SHA256 signature bytes, recognised by having
 * exactly the RSA key's modulus length.
 */
export function readQuoteSignature(buf: Buffer, key: KeyObject): TpmSignature {
  const modulusBytes =
    key.asymmetricKeyType === 'rsa' ? Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8) : 0;
  if (modulusBytes > 0 && buf.length === modulusBytes) return { alg: 'rsassa', hashAlg: TPM_ALG.SHA256, sig: buf };
  return parseTpmSignature(buf);
}

/** r‖s at the key's field size, as `ieee-p1363` takes them (a TPM2B may carry or drop leading zeros); undefined when either does not fit. */
function p1363(r: Buffer, s: Buffer, key: KeyObject): Buffer | undefined {
  const size = Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url').length;
  const out = Buffer.alloc(2 * size);
  for (const [v, end] of [
    [r, size],
    [s, 2 * size],
  ] as const) {
    let i = 0;
    while (i < v.length && v[i] === 0) i++;
    if (v.length - i > size) return undefined;
    v.copy(out, end - (v.length - i), i);
  }
  return out;
}

/** Verifies `sig` over `message` with `key`; throws TPM_SIGNATURE_INVALID when it does not verify. */
export function verifyTpmSignature(message: Buffer, sig: TpmSignature, key: KeyObject): void {
  const hash = tpmHash(sig.hashAlg, 'TPM_SIGNATURE_UNSUPPORTED').name;
  const type = key.asymmetricKeyType;
  let ok = false;
  try {
    if (sig.alg === 'ecdsa') {
      if (type !== 'ec')
        throw new CloakError('TPM_SIGNATURE_KEY_MISMATCH', 'an ECDSA quote signature needs an EC attestation key');
      const rs = p1363(sig.r, sig.s, key);
      ok = rs !== undefined && createVerify(hash).update(message).verify({ key, dsaEncoding: 'ieee-p1363' }, rs);
    } else {
      if (type !== 'rsa')
        throw new CloakError('TPM_SIGNATURE_KEY_MISMATCH', 'an RSA quote signature needs an RSA attestation key');
      // TPM RSAPSS signatures use the largest salt the modulus allows (TPM 2.0 Part 1, B.7); AUTO accepts any length.
      const padding =
        sig.alg === 'rsapss'
          ? { padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -2 /* RSA_PSS_SALTLEN_AUTO */ }
          : {};
      ok = createVerify(hash)
        .update(message)
        .verify({ key, ...padding }, sig.sig);
    }
  } catch (e) {
    if (e instanceof CloakError) throw e;
    ok = false;
  }
  if (!ok)
    throw new CloakError('TPM_SIGNATURE_INVALID', 'the TPM quote signature does not verify with the attestation key');
}
