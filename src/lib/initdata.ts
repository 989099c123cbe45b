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
