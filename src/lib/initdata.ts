import { createHash } from 'node:crypto';
import { gzipSync, gunzipSync } from 'node:zlib';
import { CloakError } from './errors.ts';

/** CoCo's pod annotation form of init-data: base64 of gzip of the TOML. */
export const encodeInitData = (text: string): string => gzipSync(Buffer.from(text), { level: 9 }).toString('base64');

/** Accepts the TOML itself or its annotation encoding (base64 gzip, at most 1 MiB expanded). */
export function decodeInitData(value: string): string {
  const t = value.trim();
  if (/^(version|algorithm|\[)/m.test(t) && t.includes('=')) return value;
  try {
    return gunzipSync(Buffer.from(t, 'base64'), { maxOutputLength: 1 << 20 }).toString('utf8');
  } catch {
    throw new CloakError('INITDATA_ENCODING', 'init-data is neither TOML nor base64-encoded gzip of TOML');
  }
}

/**
 * CoCo init-data TOML around the given `[data]` entries (version 0.1.0,
 * sha256). The entries are written as literal multi-line strings, as CoCo's
 * examples write them, so they stay readable in the pod annotation.
 */
export function initDataText(data: Record<string, string>): string {
  const entries = Object.entries(data).map(([k, v]) => {
    if (v.includes("'''")) throw new CloakError('INITDATA_ENTRY', `init-data entry ${k} may not contain '''`);
    return `"${k}" = '''\n${v}'''`;
  });
  return ['version = "0.1.0"', 'algorithm = "sha256"', '', '[data]', ...entries, ''].join('\n');
}

export type InitDataAlgorithm = 'sha256' | 'sha384' | 'sha512';

/** Digest of a CoCo init-data text with the algorithm it names (default sha256). */
export function initDataDigest(text: string, algorithm: string = 'sha256'): Buffer {
  if (!['sha256', 'sha384', 'sha512'].includes(algorithm)) {
    throw new CloakError('INITDATA_ALGORITHM', `init-data algorithm "${algorithm}" is not supported (use sha256, sha384 or sha512)`);
  }
  return createHash(algorithm).update(text, 'utf8').digest();
}

export const initDataDigestHex = (text: string): string => initDataDigest(text).toString('hex');

