import { createPrivateKey, createPublicKey, KeyObject, type JsonWebKey } from 'node:crypto';
import { CompactSign, compactVerify } from 'jose';
import { CloakError, isResourcePath, kbsUri, resourceOfKbsUri, type ResourcePath } from '../lib/index.ts';

/*
 * CoCo sealed secrets, the format confidential-data-hub unseals
 * (guest-components confidential-data-hub/hub/src/secret/mod.rs,
 * layout/{vault,envelope}.rs, docs/SEALED_SECRET.md):
 *
 *   sealed.<b64url JWS protected header>.<b64url payload JSON>.<b64url ES256 signature>
 *
 * The header carries `alg` (the CDH verifies ES256 only) and `kid`: a
 * `kbs:///repo/type/tag` URI the CDH fetches the P-256 public JWK from (or a
 * file name under the guest's /run/confidential-containers/cdh/sealed-secret).
 * The payload is `{version: "0.1.0", type: "vault" | "envelope", …}`; a vault
 * secret names where the value is (`name` = `kbs:///…`, `provider` = `kbs`),
 * an envelope secret carries the value encrypted under a KMS-wrapped key
 * (only the aliyun, aws and ehsm providers decrypt those, so Cloak reads them
 * but makes vault secrets). The Kata agent unseals every environment value
 * that starts with `sealed.` through the CDH before the container starts.
 */

export const SEALED_PREFIX = 'sealed.';
export const SEALED_VERSION = '0.1.0';
/** Longer than any sealed secret Cloak or guest-components make (a vault secret is a few hundred characters). */
export const SEALED_MAX_LENGTH = 16 * 1024;
const MAX_FIELD = 4096;

export interface VaultPayload {
  version: string;
  type: 'vault';
  name: string;
  provider: string;
  provider_settings: Record<string, unknown>;
  annotations: Record<string, unknown>;
}
export interface EnvelopePayload {
  version: string;
  type: 'envelope';
  provider: string;
  key_id: string;
  encrypted_key: string;
  encrypted_data: string;
  wrap_type: 'A256GCM' | 'A256CTR';
  iv: string;
  provider_settings: Record<string, unknown>;
  annotations: Record<string, unknown>;
}

export interface SealedSecret {
  header: { alg: 'ES256'; kid: string };
  payload: VaultPayload | EnvelopePayload;
  /** The resource a `kbs` vault secret points at, the resource the `kid` names (when they are KBS resources). */
  resource?: ResourcePath;
  kidResource?: ResourcePath;
  signature: Buffer;
}

const invalid = (message: string) => new CloakError('SEALED_SECRET_INVALID', `sealed secret: ${message}`);
const B64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodePart(part: string, what: string): Buffer {
  const bytes = Buffer.from(part, 'base64url');
  // Canonical only, as the CDH's base64 engine decodes (no stray trailing bits): one secret, one spelling.
  if (!B64URL.test(part) || bytes.toString('base64url') !== part)
    throw invalid(`the ${what} is not base64url without padding`);
  return bytes;
}

function jsonObject(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(utf8.decode(bytes));
  } catch {
    throw invalid(`the ${what} is not UTF-8 JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`the ${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

function text(o: Record<string, unknown>, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw invalid(`the ${what} needs "${key}" (a string)`);
  if (v.length > MAX_FIELD) throw invalid(`the ${what}'s "${key}" is longer than ${MAX_FIELD} characters`);
  return v;
}

// The CDH's serde structs have no defaults for these: it refuses a payload without them.
function map(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = o[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw invalid(`the payload needs "${key}" (a JSON object, {} when empty)`);
  return v as Record<string, unknown>;
}

function readPayload(o: Record<string, unknown>): VaultPayload | EnvelopePayload {
  const version = text(o, 'version', 'payload');
  if (version !== SEALED_VERSION)
    throw invalid(`version "${version.slice(0, 40)}" is not ${SEALED_VERSION}, the only one the CDH unseals`);
  const common = {
    version,
    provider: text(o, 'provider', 'payload'),
    provider_settings: map(o, 'provider_settings'),
    annotations: map(o, 'annotations'),
  };
  if (o.type === 'vault') return { ...common, type: 'vault', name: text(o, 'name', 'payload') };
  if (o.type === 'envelope') {
    const wrap = text(o, 'wrap_type', 'payload');
    if (wrap !== 'A256GCM' && wrap !== 'A256CTR')
      throw invalid(`wrap_type "${wrap.slice(0, 40)}" is not A256GCM or A256CTR`);
    return {
      ...common,
      type: 'envelope',
      key_id: text(o, 'key_id', 'payload'),
      encrypted_key: text(o, 'encrypted_key', 'payload'),
      encrypted_data: text(o, 'encrypted_data', 'payload'),
      wrap_type: wrap,
      iv: text(o, 'iv', 'payload'),
    };
  }
  throw invalid('type must be "vault" or "envelope"');
}

/** Reads a sealed secret (`sealed.` + compact JWS), checking every part; does not verify the signature (verifySealedSecret does). */
export function parseSealedSecret(value: unknown): SealedSecret {
  if (typeof value !== 'string') throw invalid('not a string');
  if (value.length > SEALED_MAX_LENGTH) throw invalid(`longer than ${SEALED_MAX_LENGTH} characters`);
  if (!value.startsWith(SEALED_PREFIX)) throw invalid(`does not start with "${SEALED_PREFIX}"`);
  const parts = value.slice(SEALED_PREFIX.length).split('.');
  if (parts.length !== 3) throw invalid('needs three dot-separated parts after "sealed." (header, payload, signature)');
  const header = jsonObject(decodePart(parts[0]!, 'header'), 'header');
  if (header.alg !== 'ES256')
    throw invalid(`header alg ${JSON.stringify(header.alg)?.slice(0, 40)} is not ES256, the only one the CDH verifies`);
  const kid = text(header, 'kid', 'header');
  if (!kid) throw invalid('the header kid is empty');
  const payload = readPayload(jsonObject(decodePart(parts[1]!, 'payload'), 'payload'));
  const signature = decodePart(parts[2]!, 'signature');
  if (signature.length !== 64) throw invalid(`the ES256 signature is ${signature.length} bytes, not 64`);
  const resource = payload.type === 'vault' && payload.provider === 'kbs' ? resourceOfKbsUri(payload.name) : undefined;
  return { header: { alg: 'ES256', kid }, payload, signature, resource, kidResource: resourceOfKbsUri(kid) };
}

/** Parses and verifies a sealed secret with the signer's P-256 public key (a JWK, as the CDH reads it from the kid). */
export async function verifySealedSecret(value: string, publicKey: JsonWebKey | KeyObject): Promise<SealedSecret> {
  const sealed = parseSealedSecret(value);
  const key = publicKeyOf(publicKey);
  try {
    await compactVerify(value.slice(SEALED_PREFIX.length), key, { algorithms: ['ES256'] });
  } catch {
    throw new CloakError(
      'SEALED_SECRET_SIGNATURE',
      `sealed secret: the signature does not verify with the key ${sealed.header.kid}`,
    );
  }
  return sealed;
}

/** A P-256 key for signing or verifying sealed secrets, from a JWK or a KeyObject. */
function p256(key: JsonWebKey | KeyObject, kind: 'private' | 'public'): KeyObject {
  let k: KeyObject;
  try {
    k =
      key instanceof KeyObject
        ? key
        : kind === 'private'
          ? createPrivateKey({ key: key as JsonWebKey, format: 'jwk' })
          : createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
  } catch (e) {
    throw new CloakError('SEALED_SECRET_KEY', `the sealing key is not a usable ${kind} JWK: ${(e as Error).message}`);
  }
  if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new CloakError('SEALED_SECRET_KEY', 'the sealing key must be an EC P-256 key (the CDH verifies ES256 only)');
  if (kind === 'private' && k.type !== 'private')
    throw new CloakError('SEALED_SECRET_KEY', 'sealing needs the private key (a JWK with "d")');
  return k;
}

const publicKeyOf = (key: JsonWebKey | KeyObject): KeyObject => {
  const k = p256(key, 'public');
  return k.type === 'private' ? createPublicKey(k) : k;
};

/** The public JWK the CDH fetches through the kid to verify sealed secrets (as guest-components' `secret keygen` writes it). */
export function sealingPublicJwk(key: JsonWebKey | KeyObject): JsonWebKey {
  return { ...publicKeyOf(key).export({ format: 'jwk' }), alg: 'ES256', use: 'sig' };
}

/**
 * Makes the vault sealed secret for a KBS resource: the CDH fetches the
 * public key at `kid` (a resource path, sent as `kbs:///kid`), verifies the
 * ES256 signature, then fetches `kbs:///resource` through the KBS.
 */
export async function sealVaultSecret(opts: {
  resource: string;
  kid: string;
  key: JsonWebKey | KeyObject;
}): Promise<string> {
  if (!isResourcePath(opts.resource))
    throw new CloakError(
      'SEALED_SECRET_RESOURCE',
      `"${String(opts.resource).slice(0, 200)}" is not a resource path repo/type/tag`,
    );
  if (!isResourcePath(opts.kid))
    throw new CloakError(
      'SEALED_SECRET_RESOURCE',
      `the signing key id "${String(opts.kid).slice(0, 200)}" must be the resource path (repo/type/tag) its public JWK is stored at`,
    );
  const payload: VaultPayload = {
    version: SEALED_VERSION,
    type: 'vault',
    name: kbsUri(opts.resource),
    provider: 'kbs',
    provider_settings: {},
    annotations: {},
  };
  const jws = await new CompactSign(Buffer.from(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ES256', kid: kbsUri(opts.kid) })
    .sign(p256(opts.key, 'private'));
  return SEALED_PREFIX + jws;
}
