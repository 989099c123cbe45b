import { createPublicKey, type KeyObject } from 'node:crypto';
import { CloakError } from '../../lib/index.ts';

/** The HCL runtime claims: vTPM keys (HCLAkPub, HCLEkPub as JWKs), VM configuration and user data. */
export interface RuntimeClaims {
  keys: Record<string, unknown>[];
  vmConfiguration: Record<string, unknown>;
  /** Hex in the JSON; the report-data the guest asked the HCL to bind (64 bytes). */
  userData: Buffer | undefined;
  raw: Record<string, unknown>;
}

const CODE = 'AZ_RUNTIME_CLAIMS_MALFORMED';

export function parseRuntimeClaims(bytes: Buffer): RuntimeClaims {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8').replace(/\0+$/, ''));
  } catch (e) {
    throw new CloakError(CODE, 'the HCL runtime claims are not valid JSON', { cause: e });
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new CloakError(CODE, 'the HCL runtime claims must be a JSON object');
  const o = raw as Record<string, unknown>;
  if (
    !Array.isArray(o.keys) ||
    o.keys.length > 16 ||
    !o.keys.every((k) => k && typeof k === 'object' && !Array.isArray(k))
  ) {
    throw new CloakError(CODE, 'the HCL runtime claims need "keys": a list of JWKs');
  }
  const vm = o['vm-configuration'];
  if (vm !== undefined && (!vm || typeof vm !== 'object' || Array.isArray(vm)))
    throw new CloakError(CODE, '"vm-configuration" must be an object');
  const ud = o['user-data'];
  let userData: Buffer | undefined;
  if (ud !== undefined) {
    if (typeof ud !== 'string' || ud.length % 2 !== 0 || ud.length > 256 || !/^[0-9a-fA-F]*$/.test(ud))
      throw new CloakError(CODE, '"user-data" must be hex');
    userData = Buffer.from(ud, 'hex');
  }
  return {
    keys: o.keys as Record<string, unknown>[],
    vmConfiguration: (vm ?? {}) as Record<string, unknown>,
    userData,
    raw: o,
  };
}

/** The vTPM key with this kid ("HCLAkPub": attestation key, "HCLEkPub": endorsement key) as a Node key. */
export function runtimeKey(claims: RuntimeClaims, kid: 'HCLAkPub' | 'HCLEkPub'): KeyObject {
  const jwk = claims.keys.find((k) => k.kid === kid);
  if (!jwk) throw new CloakError('AZ_AK_MISSING', `the HCL runtime claims hold no "${kid}" key`);
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string')
    throw new CloakError('AZ_AK_MALFORMED', `"${kid}" must be an RSA JWK with n and e`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
  } catch (e) {
    throw new CloakError('AZ_AK_MALFORMED', `"${kid}" is not a valid RSA public key`, { cause: e });
  }
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
    throw new CloakError('AZ_AK_MALFORMED', `"${kid}" is shorter than 2048 bits`);
  return key;
}
