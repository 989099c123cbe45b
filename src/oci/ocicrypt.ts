import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  timingSafeEqual,
  type Decipher,
  type KeyObject,
} from 'node:crypto';
import type { Transform } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { FlattenedEncrypt, flattenedDecrypt, type FlattenedJWE } from 'jose';
import { CloakError, drainedAll, fromBase64, OffloadedHash, resourceOfKbsUri, type ErrorCode } from '../lib/index.ts';
import { stepStream, type BlobStep } from './blob-step.ts';
import { DEFAULT_LAYER_LIMITS, ExpansionBudget, type LayerLimits } from './layer-limits.ts';

/** containers/ocicrypt's layer cipher and annotations. */
export const CIPHER = 'AES_256_CTR_HMAC_SHA256';
export const ANNOTATION_JWE = 'org.opencontainers.image.enc.keys.jwe';
export const ANNOTATION_PUBOPTS = 'org.opencontainers.image.enc.pubopts';
export const ANNOTATION_AA = 'org.opencontainers.image.enc.keys.provider.attestation-agent';

/** The private options a recipient unwraps: the layer key, the CTR nonce and the plain blob's digest. */
export interface PrivateOptions {
  symkey: string;
  digest: string;
  cipheroptions: { nonce: string };
}
export interface PublicOptions {
  cipher: string;
  hmac: string;
  cipheroptions: Record<string, unknown>;
}

const fail = (code: ErrorCode, message: string): never => {
  throw new CloakError(code, message);
};

export function parsePublicOptions(annotation: string | undefined): PublicOptions {
  if (!annotation)
    fail('OCI_ENC_PUBOPTS_MISSING', 'encrypted layer has no org.opencontainers.image.enc.pubopts annotation');
  let p: PublicOptions;
  try {
    p = JSON.parse(fromBase64(annotation!, 'OCI_ENC_PUBOPTS_INVALID', 'pubopts').toString('utf8'));
  } catch (e) {
    if (e instanceof CloakError) throw e;
    return fail('OCI_ENC_PUBOPTS_INVALID', 'pubopts annotation is not base64 JSON');
  }
  if (p?.cipher !== CIPHER)
    fail('OCI_ENC_CIPHER_UNSUPPORTED', `layer cipher "${String(p?.cipher).slice(0, 40)}" is not supported (${CIPHER})`);
  if (typeof p.hmac !== 'string' || fromBase64(p.hmac, 'OCI_ENC_PUBOPTS_INVALID', 'hmac').length !== 32)
    fail('OCI_ENC_PUBOPTS_INVALID', 'pubopts hmac must be 32 bytes of base64');
  return p;
}

export function parsePrivateOptions(json: Uint8Array): PrivateOptions {
  let p: PrivateOptions;
  try {
    p = JSON.parse(Buffer.from(json).toString('utf8'));
  } catch {
    return fail('OCI_ENC_PRIVOPTS_INVALID', 'unwrapped layer options are not JSON');
  }
  if (typeof p?.symkey !== 'string' || fromBase64(p.symkey, 'OCI_ENC_PRIVOPTS_INVALID', 'symkey').length !== 32)
    fail('OCI_ENC_PRIVOPTS_INVALID', 'layer symkey must be 32 bytes');
  if (
    typeof p.cipheroptions?.nonce !== 'string' ||
    fromBase64(p.cipheroptions.nonce, 'OCI_ENC_PRIVOPTS_INVALID', 'nonce').length !== 16
  )
    fail('OCI_ENC_PRIVOPTS_INVALID', 'layer nonce must be 16 bytes');
  if (typeof p.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(p.digest))
    fail('OCI_ENC_PRIVOPTS_INVALID', 'layer options lack the plain digest');
  return p;
}

export interface LayerOptions {
  priv: PrivateOptions;
  pub: PublicOptions;
}

/**
 * Encrypts a layer blob with a fresh key, chunk by chunk. The HMAC (public
 * options) and the plain digest (private options) are known after `final`.
 * Pass `plainDigest` when the input is already verified against it (its
 * reader fails otherwise), which spares hashing the plaintext a second time.
 * The digest passes run on worker threads beside the cipher.
 */
export class LayerEncryptor implements BlobStep {
  private readonly symkey = randomBytes(32);
  private readonly nonce = randomBytes(16);
  private readonly cipher = createCipheriv('aes-256-ctr', this.symkey, this.nonce);
  private readonly hmac = new OffloadedHash(this.symkey);
  private readonly plain: OffloadedHash | undefined;
  private settle!: (v: LayerOptions) => void;
  /** The options, once `final` has run. */
  readonly result = new Promise<LayerOptions>((r) => (this.settle = r));

  constructor(private readonly plainDigest?: string) {
    this.plain = plainDigest === undefined ? new OffloadedHash() : undefined;
  }

  update(chunk: Buffer): Buffer {
    this.plain?.update(chunk);
    const out = this.cipher.update(chunk);
    this.hmac.update(out);
    return out;
  }

  drained(): Promise<void> | undefined {
    return drainedAll([this.plain, this.hmac]);
  }

  async final(): Promise<Buffer> {
    const out = this.cipher.final();
    this.hmac.update(out);
    const [mac, digest] = await Promise.all([
      this.hmac.digest(),
      this.plain ? this.plain.hex().then((h) => 'sha256:' + h) : this.plainDigest!,
    ]);
    this.settle({
      priv: { symkey: this.symkey.toString('base64'), digest, cipheroptions: { nonce: this.nonce.toString('base64') } },
      pub: { cipher: CIPHER, hmac: mac.toString('base64'), cipheroptions: {} },
    });
    return out;
  }

  abandon(): void {
    this.hmac.abandon();
    this.plain?.abandon();
  }
}

/** `LayerEncryptor` as a Transform; `result` settles when the stream ends. */
export function encryptLayerStream(plainDigest?: string): { stream: Transform; result: Promise<LayerOptions> } {
  const enc = new LayerEncryptor(plainDigest);
  return { stream: stepStream(enc), result: enc.result };
}

/**
 * Decrypts a layer blob chunk by chunk. The HMAC over the ciphertext and the
 * digest named by the options are checked in `final`, which rejects on a
 * mismatch, so a consumer that writes to a staging place and commits only
 * on success never keeps tampered plaintext. The options' digest is usually
 * the plain blob's; skopeo, when it gzips an uncompressed layer before
 * encrypting, names the uncompressed digest instead, so for gzip layers the
 * digest of the decompressed plaintext is accepted too (`inflate`, within
 * its limits). When the caller inflates
 * the plaintext itself and checks it against the options' digest
 * (`inflatedCheckedByCaller`), the decryptor does not inflate a second
 * time. `plainDigest` settles with the plain blob's digest once the checks
 * have passed (it never rejects; it stays pending on failure).
 */
export class LayerDecryptor implements BlobStep {
  private readonly decipher: Decipher;
  private readonly hmac: OffloadedHash;
  private readonly plain = new OffloadedHash();
  private readonly inflated: OffloadedHash | undefined;
  private readonly gunzip: Gunzip | undefined;
  private gunzipFailed = false;
  private gunzipDrain: Promise<void> | undefined;
  private tooLarge: Error | undefined;
  private readonly inflatedCheckedByCaller: boolean;
  private settle!: (d: string) => void;
  readonly plainDigest = new Promise<string>((r) => (this.settle = r));

  constructor(
    private readonly priv: PrivateOptions,
    private readonly pub: PublicOptions,
    opts: DecryptOptions = {},
  ) {
    const symkey = fromBase64(priv.symkey);
    this.decipher = createDecipheriv('aes-256-ctr', symkey, fromBase64(priv.cipheroptions.nonce));
    this.hmac = new OffloadedHash(symkey);
    this.inflatedCheckedByCaller = opts.inflatedCheckedByCaller === true;
    if (opts.inflate && !this.inflatedCheckedByCaller) {
      const inflated = (this.inflated = new OffloadedHash());
      const gunzip = (this.gunzip = createGunzip());
      const budget = new ExpansionBudget(
        opts.inflate.compressedSize,
        opts.inflate.limits ?? DEFAULT_LAYER_LIMITS,
        `layer ${priv.digest}`,
      );
      gunzip.on('data', (c: Buffer) => {
        try {
          budget.add(c.length);
        } catch (e) {
          this.tooLarge = e as Error;
          gunzip.destroy();
          return;
        }
        if (!inflated.update(c)) {
          gunzip.pause();
          inflated.drained().then(
            () => gunzip.resume(),
            () => gunzip.resume(),
          );
        }
      });
      gunzip.on('error', () => {
        this.gunzipFailed = true;
      });
    }
  }

  update(chunk: Buffer): Buffer {
    if (this.tooLarge) throw this.tooLarge;
    this.hmac.update(chunk);
    const out = this.decipher.update(chunk);
    this.plain.update(out);
    if (this.gunzip && !this.gunzipFailed && !this.gunzip.destroyed && !this.gunzip.write(out) && !this.gunzipDrain) {
      // Wait for the inflater to catch up, unless it fails (the plaintext is then not gzip at all).
      const gunzip = this.gunzip;
      this.gunzipDrain = new Promise((resolve) => {
        const go = () => {
          gunzip.off('drain', go);
          gunzip.off('error', go);
          gunzip.off('close', go);
          resolve();
        };
        gunzip.on('drain', go);
        gunzip.on('error', go);
        gunzip.on('close', go);
      });
    }
    return out;
  }

  drained(): Promise<void> | undefined {
    const wait = this.gunzipDrain;
    this.gunzipDrain = undefined;
    const hashes = drainedAll([this.hmac, this.plain]);
    return wait && hashes ? Promise.all([wait, hashes]).then(() => undefined) : (wait ?? hashes);
  }

  async final(): Promise<Buffer> {
    if (this.tooLarge) throw this.tooLarge;
    const out = this.decipher.final();
    this.plain.update(out);
    if (this.gunzip && !this.gunzipFailed && !this.gunzip.destroyed) {
      const gunzip = this.gunzip;
      await new Promise<void>((resolve) => {
        gunzip.once('end', resolve);
        gunzip.once('error', () => resolve());
        gunzip.once('close', () => resolve());
        gunzip.end(out);
        gunzip.resume();
      });
    }
    if (this.tooLarge) throw this.tooLarge;
    const [actual, plainHex, inflatedHex] = await Promise.all([
      this.hmac.digest(),
      this.plain.hex(),
      this.inflated && !this.gunzipFailed ? this.inflated.hex() : undefined,
    ]);
    const expected = fromBase64(this.pub.hmac);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual))
      throw new CloakError(
        'OCI_HMAC_MISMATCH',
        'layer HMAC does not match: the encrypted layer was altered or the key is wrong',
      );
    if (
      'sha256:' + plainHex !== this.priv.digest &&
      'sha256:' + inflatedHex !== this.priv.digest &&
      !this.inflatedCheckedByCaller
    )
      throw new CloakError('OCI_DIGEST_MISMATCH', 'decrypted layer does not have the digest its options name');
    this.settle('sha256:' + plainHex);
    return out;
  }

  abandon(): void {
    this.hmac.abandon();
    this.plain.abandon();
    this.inflated?.abandon();
    this.gunzip?.destroy();
  }
}

export interface DecryptOptions {
  /** The plaintext is `compressedSize` bytes of gzip whose inflated content the options' digest may name (skopeo): inflated within `limits` to check it. */
  inflate?: { compressedSize: number; limits?: LayerLimits };
  /** The plaintext is gzip that the caller inflates and checks against the options' digest: the decryptor checks the HMAC only. */
  inflatedCheckedByCaller?: boolean;
}

/** `LayerDecryptor` as a Transform that errors on HMAC or digest mismatch. */
export function decryptLayerStream(priv: PrivateOptions, pub: PublicOptions, opts: DecryptOptions = {}): Transform {
  return stepStream(new LayerDecryptor(priv, pub, opts));
}

/** JWE recipient (skopeo's `jwe:`): RSA-OAEP for RSA keys, ECDH-ES+A256KW for EC keys, A256GCM. */
export async function wrapJwe(priv: PrivateOptions, publicKey: KeyObject): Promise<string> {
  const alg =
    publicKey.asymmetricKeyType === 'rsa'
      ? 'RSA-OAEP'
      : publicKey.asymmetricKeyType === 'ec'
        ? 'ECDH-ES+A256KW'
        : fail(
            'OCI_ENC_KEY_UNSUPPORTED',
            `recipient key type ${publicKey.asymmetricKeyType} is not supported (RSA or EC)`,
          );
  const jwe = await new FlattenedEncrypt(Buffer.from(JSON.stringify(priv)))
    .setProtectedHeader({ alg: alg as string, enc: 'A256GCM' })
    .encrypt(publicKey);
  return Buffer.from(JSON.stringify(jwe)).toString('base64');
}

/** Tries each JWE of the annotation with the private key; the first that opens gives the options. */
export async function unwrapJwe(annotation: string, privateKey: KeyObject): Promise<PrivateOptions> {
  for (const part of annotation.split(',')) {
    let jwe: FlattenedJWE;
    try {
      jwe = JSON.parse(fromBase64(part).toString('utf8'));
    } catch {
      continue;
    }
    try {
      const { plaintext } = await flattenedDecrypt(jwe, privateKey, {
        keyManagementAlgorithms: ['RSA-OAEP', 'RSA-OAEP-256', 'ECDH-ES+A256KW'],
      });
      return parsePrivateOptions(plaintext);
    } catch (e) {
      if (e instanceof CloakError) throw e;
    }
  }
  return fail('OCI_ENC_NO_KEY', "none of the layer's JWE recipients opens with this private key");
}

/** CoCo's attestation-agent packet: the options sealed (AES-256-GCM) under a KEK that the KBS holds as `kid`. */
export function wrapForAttestationAgent(priv: PrivateOptions, kek: Buffer, kid: string): string {
  if (kek.length !== 32) fail('OCI_ENC_KEK_INVALID', 'the key-encryption key must be 32 bytes');
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', kek, iv);
  const wrapped = Buffer.concat([c.update(JSON.stringify(priv)), c.final(), c.getAuthTag()]);
  return Buffer.from(
    JSON.stringify({ kid, wrapped_data: wrapped.toString('base64'), iv: iv.toString('base64'), wrap_type: 'A256GCM' }),
  ).toString('base64');
}

/** The KBS resource (`repo/type/tag`) holding the KEK of an attestation-agent annotation. */
export function attestationAgentKid(annotation: string): string {
  let packet: { kid?: unknown };
  try {
    packet = JSON.parse(fromBase64(annotation).toString('utf8'));
  } catch {
    return fail('OCI_ENC_AA_INVALID', 'attestation-agent annotation is not base64 JSON');
  }
  const resource = resourceOfKbsUri(String(packet.kid));
  if (!resource)
    fail(
      'OCI_ENC_AA_INVALID',
      `attestation-agent kid "${String(packet.kid).slice(0, 100)}" is not kbs:///repo/type/tag`,
    );
  return resource!;
}

export function unwrapForAttestationAgent(annotation: string, kek: Buffer): PrivateOptions {
  let packet: { wrapped_data?: string; iv?: string; wrap_type?: string };
  try {
    packet = JSON.parse(fromBase64(annotation).toString('utf8'));
  } catch {
    return fail('OCI_ENC_AA_INVALID', 'attestation-agent annotation is not base64 JSON');
  }
  if (packet.wrap_type !== 'A256GCM') fail('OCI_ENC_AA_INVALID', `wrap_type "${packet.wrap_type}" is not A256GCM`);
  const data = fromBase64(packet.wrapped_data ?? '', 'OCI_ENC_AA_INVALID', 'wrapped_data');
  const iv = fromBase64(packet.iv ?? '', 'OCI_ENC_AA_INVALID', 'iv');
  if (iv.length !== 12 || data.length < 17 || kek.length !== 32)
    fail('OCI_ENC_AA_INVALID', 'attestation-agent packet has a wrong IV, data or key length');
  try {
    const d = createDecipheriv('aes-256-gcm', kek, iv);
    d.setAuthTag(data.subarray(data.length - 16));
    return parsePrivateOptions(Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]));
  } catch (e) {
    if (e instanceof CloakError) throw e;
    return fail('OCI_ENC_AA_UNWRAP', "the key from the KBS does not open this layer's attestation-agent packet");
  }
}
