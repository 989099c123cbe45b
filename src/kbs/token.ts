import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, exportJWK, calculateJwkThumbprint, type JWK, type JWTPayload } from 'jose';
import { CloakError } from '../lib/index.ts';
import type { Store } from '../store/index.ts';
import { TOKEN_TTL_S } from './protocol.ts';

const KEY_NAME = 'token-signing-key';

/**
 * Signs and verifies attestation tokens (ES256 JWT, EAR shape). The key is
 * created on first use and kept sealed in the store, so replicas sharing a
 * database sign with the same key.
 */
export class TokenIssuer {
  private constructor(
    private readonly privateKey: KeyObject,
    private readonly publicKey: KeyObject,
    readonly publicJwk: JWK,
    readonly issuer: string,
  ) {}

  static async load(store: Store, issuer: string): Promise<TokenIssuer> {
    let der = await store.getSecretMeta(KEY_NAME);
    if (!der) {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await store.setSecretMeta(KEY_NAME, privateKey.export({ format: 'der', type: 'pkcs8' }));
      der = await store.getSecretMeta(KEY_NAME); // re-read: another replica may have won the race
      if (!der) throw new CloakError('TOKEN_KEY_MISSING', 'the token signing key could not be stored');
    }
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey(privateKey);
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    return new TokenIssuer(privateKey, publicKey, { ...jwk, kid, alg: 'ES256', use: 'sig' }, issuer);
  }

  get kid(): string {
    return this.publicJwk.kid!;
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  async sign(claims: JWTPayload, now: Date): Promise<string> {
    const iat = Math.floor(now.getTime() / 1000);
    const { kid: _kid, use: _use, ...headerJwk } = this.publicJwk;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: this.kid, jwk: headerJwk })
      .setIssuer(this.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + TOKEN_TTL_S)
      .setJti(randomUUID())
      .sign(this.privateKey);
  }

  /** Verifies a token this server issued; throws KBS_TOKEN_INVALID. */
  async verify(token: string, now: Date): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        issuer: this.issuer,
        algorithms: ['ES256'],
        currentDate: now,
      });
      return payload;
    } catch (e) {
      throw new CloakError('KBS_TOKEN_INVALID', `the attestation token is not valid: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
}
