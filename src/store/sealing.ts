import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CloakError } from '../lib/index.ts';

const VERSION = 1;
const IV_LEN = 12;
const TAG_LEN = 16;
const HEADER = 1 + IV_LEN + TAG_LEN;
export const SEALING_KEY_LENGTH = 32;

/** AES-256-GCM: version(1) ‖ iv(12) ‖ tag(16) ‖ ciphertext; the AAD (kind:name) binds the value to its row. */
export function seal(key: Buffer, aad: string, plaintext: Buffer): Buffer {
  const iv = randomBytes(IV_LEN);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, c.getAuthTag(), ct]);
}

/** Opens a sealed value; anything but the right key, row and intact bytes throws STORE_UNSEAL_FAILED, never garbage. */
export function unseal(key: Buffer, aad: string, sealed: Buffer): Buffer {
  if (!Buffer.isBuffer(sealed) || sealed.length < HEADER || sealed[0] !== VERSION) {
    throw new CloakError('STORE_UNSEAL_FAILED', `sealed value for ${aad} is malformed`);
  }
  try {
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + IV_LEN), { authTagLength: TAG_LEN });
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(sealed.subarray(1 + IV_LEN, HEADER));
    return Buffer.concat([d.update(sealed.subarray(HEADER)), d.final()]);
  } catch (e) {
    throw new CloakError(
      'STORE_UNSEAL_FAILED',
      `cannot unseal ${aad}: wrong sealing key, or the database was tampered with`,
      { cause: e },
    );
  }
}

/**
 * Reads the 32-byte sealing key at `path`, creating it (mode 0600, 32 random
 * bytes) on first use. Creation is atomic (write a temp file, fsync, link):
 * two processes starting together end up with the same key, and a crash
 * never leaves a short key file behind.
 */
export function loadOrCreateSealingKey(path: string): Buffer {
  const existing = readKey(path);
  if (existing) return existing;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.sealing-key.${process.pid}.${randomBytes(6).toString('hex')}`);
  const key = randomBytes(SEALING_KEY_LENGTH);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new CloakError(
        'STORE_SEALING_KEY_INVALID',
        `cannot create the sealing key ${path}: ${(e as Error).message}`,
        { cause: e },
      );
    return readKey(path)!; // another process won the race: use its key
  } finally {
    unlinkSync(tmp);
  }
  syncDir(dirname(path));
  return key;
}

function readKey(path: string): Buffer | undefined {
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CloakError('STORE_SEALING_KEY_INVALID', `cannot read the sealing key ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (key.length !== SEALING_KEY_LENGTH) {
    throw new CloakError(
      'STORE_SEALING_KEY_INVALID',
      `${path} must hold exactly ${SEALING_KEY_LENGTH} bytes, it holds ${key.length}`,
    );
  }
  return key;
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not every filesystem lets a directory be fsynced */
  }
}
