import { createHash } from 'node:crypto';
import { gzipSync, gunzipSync } from 'node:zlib';
import { stringify } from 'smol-toml';
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

export interface WorkloadInitData {
  name: string;
  server?: string;
  images: string[];
  secrets: Array<{ resource: string; file?: string; env?: string }>;
  /** The Kata agent policy (Rego) for the pod, carried as `policy.rego`. */
  policy?: string;
}

/**
 * CoCo init-data TOML for a workload: the Cloak workload entry plus the
 * attestation agent's KBS settings. Deterministic: the same workload always
 * gives the same text, hence the same digest.
 */
export function workloadInitData(w: WorkloadInitData): string {
  const cloak = stringify({
    name: w.name,
    ...(w.server ? { server: w.server } : {}),
    images: [...w.images].sort(),
    secrets: w.secrets.map((s) => ({ resource: s.resource, ...(s.file ? { file: s.file } : { env: s.env! }) })),
  });
  if (w.server && !/^https?:\/\/[^\s"'\\]+$/.test(w.server)) throw new CloakError('INITDATA_SERVER_URL', `server "${w.server}" is not an http(s) URL`);
  const aa = w.server ? `[token_configs]\n[token_configs.kbs]\nurl = "${w.server}"\n` : '';
  const data: Record<string, string> = { 'cloak.toml': cloak };
  if (aa) {
    data['aa.toml'] = aa;
    data['cdh.toml'] = `[kbc]\nname = "cc_kbc"\nurl = "${w.server}"\n`;
  }
  if (w.policy !== undefined) data['policy.rego'] = w.policy;
  // Literal multi-line strings keep the entries readable, as CoCo's examples write them.
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

