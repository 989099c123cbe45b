import { createCipheriv, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { FlattenedEncrypt, flattenedDecrypt, importJWK, type JWK } from 'jose';
import { CloakError } from '../lib/index.ts';
import type { TeePubkey } from './schemas.ts';

export interface FlattenedJwe {
  protected: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** Key-wrapping algorithm for a TEE key, as CoCo clients expect it. */
export function wrapAlgorithm(key: TeePubkey): string {
  if (key.kty === 'EC') {
    if (!['P-256', 'P-384', 'P-521'].includes(key.crv ?? ''))
      throw new CloakError(
        'KBS_TEE_PUBKEY_INVALID',
        `EC tee-pubkey curve "${key.crv}" is not supported (P-256, P-384, P-521)`,
      );
    return 'ECDH-ES+A256KW';
  }
  if (key.kty === 'RSA') return key.alg === 'RSA1_5' ? 'RSA1_5' : 'RSA-OAEP-256';
  throw new CloakError('KBS_TEE_PUBKEY_INVALID', `tee-pubkey type "${key.kty}" is not supported (EC or RSA)`);
}

/** The JWK members a CoCo guest sends per key type (`alg` may be left out); any other member is refused. */
const MEMBERS: Record<string, { required: string[]; optional: string[] }> = {
  EC: { required: ['kty', 'crv', 'x', 'y'], optional: ['alg'] },
  RSA: { required: ['kty', 'n', 'e'], optional: ['alg'] },
};

/** Checks that the TEE key is a usable public key with exactly the members of its type; throws KBS_TEE_PUBKEY_INVALID otherwise. */
export async function checkTeePubkey(key: TeePubkey): Promise<void> {
  const alg = wrapAlgorithm(key);
  const { required, optional } = MEMBERS[key.kty]!;
  const missing = required.filter((m) => typeof (key as Record<string, unknown>)[m] !== 'string');
  const extra = Object.keys(key).filter((m) => !required.includes(m) && !optional.includes(m));
  if (missing.length || extra.length) {
    throw new CloakError(
      'KBS_TEE_PUBKEY_INVALID',
      `an ${key.kty} tee-pubkey has exactly the members ${[...required, ...optional.map((m) => m + '?')].join(', ')}${missing.length ? `; missing ${missing.join(', ')}` : ''}${
        extra.length
          ? `; not allowed ${extra
              .slice(0, 5)
              .map((m) => JSON.stringify(m.slice(0, 32)))
              .join(', ')}`
          : ''
      }`,
    );
  }
  let bits: number | undefined;
  try {
    const k = createPublicKey({ key: key as import('node:crypto').JsonWebKey, format: 'jwk' });
    bits = k.asymmetricKeyDetails?.modulusLength;
    await importJWK({ ...(key as JWK), alg }, alg);
  } catch (e) {
    throw new CloakError(
      'KBS_TEE_PUBKEY_INVALID',
      `tee-pubkey is not a valid ${key.kty} public key: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (key.kty === 'RSA' && (bits ?? 0) < 2048)
    throw new CloakError('KBS_TEE_PUBKEY_INVALID', `RSA tee-pubkey has ${bits ?? 0} bits; at least 2048 are needed`);
}

/**
 * Encrypts `plaintext` to the TEE key as a flattened JWE (A256GCM).
 *
 * CoCo's client does not use the protected header as sent for the AAD: it
 * parses it into kbs-types' `ProtectedHeader {alg, enc, ..other_fields}` and
 * serialises that again (`generate_aad`), which with serde_json's default map
 * sorts the other members and those of `epk`. jose writes `epk` as
 * {x, crv, kty, y}, so for EC keys the header is written in that sorted order
 * ({alg, enc, epk: {crv, kty, x, y}}, as Trustee writes it): jose wraps a fresh
 * content key (ECDH-ES + Concat KDF + AES-KW, independent of the header bytes),
 * and Node's AES-256-GCM encrypts under the header the guest will rebuild.
 */
export async function encryptToTee(key: TeePubkey, plaintext: Uint8Array): Promise<FlattenedJwe> {
  const alg = wrapAlgorithm(key);
  const publicKey = await importJWK({ ...(key as JWK), alg }, alg);
  if (alg !== 'ECDH-ES+A256KW') {
    const jwe = await new FlattenedEncrypt(plaintext).setProtectedHeader({ alg, enc: 'A256GCM' }).encrypt(publicKey);
    return {
      protected: jwe.protected ?? '',
      encrypted_key: jwe.encrypted_key ?? '',
      iv: jwe.iv ?? '',
      ciphertext: jwe.ciphertext,
      tag: jwe.tag ?? '',
    };
  }
  const cek = randomBytes(32);
  const wrapped = await new FlattenedEncrypt(new Uint8Array(0))
    .setProtectedHeader({ alg, enc: 'A256GCM' })
    .setContentEncryptionKey(cek)
    .encrypt(publicKey);
  const { epk } = JSON.parse(Buffer.from(wrapped.protected ?? '', 'base64url').toString('utf8')) as {
    epk: Record<string, string>;
  };
  const header = JSON.stringify({ alg, enc: 'A256GCM', epk: { crv: epk.crv, kty: epk.kty, x: epk.x, y: epk.y } });
  const protectedHeader = Buffer.from(header).toString('base64url');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cek, iv).setAAD(Buffer.from(protectedHeader, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  cek.fill(0);
  return {
    protected: protectedHeader,
    encrypted_key: wrapped.encrypted_key ?? '',
    iv: iv.toString('base64url'),
    ciphertext: ciphertext.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
  };
}

/** A TEE's ephemeral key: a P-256 pair whose public half goes out as the `tee-pubkey` (ECDH-ES+A256KW). */
export function teeKeyPair(): { privateKey: KeyObject; publicJwk: TeePubkey } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { crv, x, y } = publicKey.export({ format: 'jwk' });
  return { privateKey, publicJwk: { kty: 'EC', crv, alg: 'ECDH-ES+A256KW', x, y } };
}

/** Decrypts a resource reply, a flattened JWE to the TEE key, as received: jose checks its shape and throws when it does not decrypt. */
export async function decryptFromKbs(jwe: unknown, privateKey: KeyObject): Promise<Buffer> {
  const { plaintext } = await flattenedDecrypt(jwe as FlattenedJwe, privateKey);
  return Buffer.from(plaintext);
}
