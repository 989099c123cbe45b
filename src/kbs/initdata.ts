import { createHash } from 'node:crypto';
import { parse as parseToml } from 'smol-toml';
import { CloakError, initDataDigest } from '../lib/index.ts';

export interface InitData {
  digest: Buffer;
  algorithm: string;
  claims: Record<string, unknown>;
}

/**
 * CoCo init-data: TOML with `version`, `algorithm` (sha256/sha384/sha512)
 * and a `[data]` table. Its digest over the exact text is what the hardware
 * holds (SNP host_data, TDX mr_config_id, …).
 */
export function parseInitData(initData: { format: string; body: string }): InitData {
  if (initData.format !== 'toml')
    throw new CloakError('KBS_INITDATA_INVALID', `init-data format "${initData.format}" is not supported (toml)`);
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(initData.body) as Record<string, unknown>;
  } catch (e) {
    throw new CloakError('KBS_INITDATA_INVALID', `init-data is not valid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  const algorithm = typeof doc.algorithm === 'string' ? doc.algorithm : 'sha256';
  let digest: Buffer;
  try {
    digest = initDataDigest(initData.body, algorithm);
  } catch (e) {
    throw new CloakError('KBS_INITDATA_INVALID', (e as Error).message);
  }
  const data = doc.data && typeof doc.data === 'object' ? { ...(doc.data as Record<string, unknown>) } : {};
  // The Kata agent policy is tens of KiB: claims (and so the token, sent back as a bearer header) carry its digest.
  const policy = data['policy.rego'];
  if (typeof policy === 'string') data['policy.rego'] = 'sha256:' + createHash('sha256').update(policy).digest('hex');
  return { digest, algorithm, claims: { version: doc.version ?? null, algorithm, data } };
}
