import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CloakError } from '../lib/index.ts';

const VERSION = 1;

/** AES-256-GCM: version(1) ‖ iv(12) ‖ tag(16) ‖ ciphertext; AAD binds the value to its row. */
export function seal(key: Buffer, aad: string, plaintext: Buffer): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, c.getAuthTag(), ct]);
}

export function unseal(key: Buffer, aad: string, sealed: Buffer): Buffer {
  if (sealed.length < 29 || sealed[0] !== VERSION) throw new CloakError('STORE_UNSEAL_FAILED', `sealed value for ${aad} is malformed`, { status: 500 });
  try {
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(sealed.subarray(13, 29));
    return Buffer.concat([d.update(sealed.subarray(29)), d.final()]);
  } catch (e) {
    throw new CloakError('STORE_UNSEAL_FAILED', `cannot unseal ${aad}: wrong sealing key, or the database was tampered with`, { status: 500, cause: e });
  }
}

/** Reads the 32-byte sealing key, creating it (mode 0600) on first use. */
export function loadOrCreateSealingKey(path: string): Buffer {
  if (existsSync(path)) {
    const key = readFileSync(path);
    if (key.length !== 32) throw new CloakError('STORE_SEALING_KEY_INVALID', `${path} must hold exactly 32 bytes, it holds ${key.length}`);
    return key;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(path, key, { mode: 0o600, flag: 'wx' });
  return key;
}
