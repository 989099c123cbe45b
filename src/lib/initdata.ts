import { createHash } from 'node:crypto';
import { gzipSync, gunzipSync } from 'node:zlib';
import { parse as parseToml } from 'smol-toml';
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

export const INITDATA_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
export type InitDataAlgorithm = (typeof INITDATA_ALGORITHMS)[number];
/** The only init-data version Kata and the attestation agent accept. */
export const INITDATA_VERSION = '0.1.0';

function checkAlgorithm(algorithm: string): InitDataAlgorithm {
  if (!(INITDATA_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new CloakError(
      'INITDATA_ALGORITHM',
      `init-data algorithm "${algorithm}" is not supported (use ${INITDATA_ALGORITHMS.join(', ')})`,
    );
  }
  return algorithm as InitDataAlgorithm;
}

/**
 * CoCo init-data TOML around the given `[data]` entries (version 0.1.0, the
 * digest algorithm the platform binds). The entries are written as literal
 * multi-line strings, as CoCo's examples write them, so they stay readable
 * in the pod annotation.
 */
export function initDataText(data: Record<string, string>, algorithm: InitDataAlgorithm = 'sha256'): string {
  checkAlgorithm(algorithm);
  const entries = Object.entries(data).map(([k, v]) => {
    if (!/^[A-Za-z0-9._-]+$/.test(k))
      throw new CloakError('INITDATA_ENTRY', `init-data entry name "${k}" must be letters, digits, ".", "_" or "-"`);
    if (v.includes("'''")) throw new CloakError('INITDATA_ENTRY', `init-data entry ${k} may not contain '''`);
    return `"${k}" = '''\n${v}'''`;
  });
  return [`version = "${INITDATA_VERSION}"`, `algorithm = "${algorithm}"`, '', '[data]', ...entries, ''].join('\n');
}

export interface InitDataDocument {
  version: string;
  algorithm: InitDataAlgorithm;
  data: Record<string, string>;
}

/**
 * Parses init-data as Kata's runtime and agent do (kata-types `InitData`):
 * `version`, `algorithm` and a `[data]` table are all required, the version
 * must be 0.1.0, the algorithm sha256, sha384 or sha512, and every `[data]`
 * value a string. Other top-level keys are ignored, as there.
 */
export function readInitData(text: string): InitDataDocument {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new CloakError('INITDATA_INVALID', `init-data is not valid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc.version !== INITDATA_VERSION)
    throw new CloakError(
      'INITDATA_INVALID',
      `init-data version must be "${INITDATA_VERSION}", got ${JSON.stringify(doc.version ?? null)}`,
    );
  if (typeof doc.algorithm !== 'string') throw new CloakError('INITDATA_INVALID', 'init-data has no algorithm');
  const algorithm = checkAlgorithm(doc.algorithm);
  const data = doc.data;
  if (!data || typeof data !== 'object' || Array.isArray(data) || data instanceof Date)
    throw new CloakError('INITDATA_INVALID', 'init-data has no [data] table');
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string') throw new CloakError('INITDATA_INVALID', `init-data [data] "${k}" must be a string`);
  }
  return { version: INITDATA_VERSION, algorithm, data: { ...(data as Record<string, string>) } };
}

/** Digest of a CoCo init-data text with the algorithm it names (default sha256). */
export function initDataDigest(text: string, algorithm: string = 'sha256'): Buffer {
  return createHash(checkAlgorithm(algorithm)).update(text, 'utf8').digest();
}

/** Hex digest over the exact text, with the algorithm the text names (sha256 when it names none). */
export function initDataDigestHex(text: string): string {
  let named: unknown;
  try {
    named = (parseToml(text) as Record<string, unknown>).algorithm;
  } catch {
    /* the digest is over bytes; an unparsable text keeps the default */
  }
  return initDataDigest(text, typeof named === 'string' ? named : 'sha256').toString('hex');
}
