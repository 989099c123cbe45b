import { parse as parseToml } from 'smol-toml';
import { CloakError } from '../lib/index.ts';

/** One secret a workload receives: a KBS resource written to a file under the secrets dir, or an environment variable. */
export interface SecretSpec {
  resource: string; // repo/type/tag
  file?: string; // relative path under the secrets directory
  env?: string; // environment variable name
}

/** What Cloak reads from the `cloak.toml` entry of CoCo init-data. */
export interface WorkloadSpec {
  name: string;
  images: string[]; // digests (sha256:…) the workload may run
  server?: string;
  secrets: SecretSpec[];
}

const RESOURCE = /^[A-Za-z0-9._-]{1,128}\/[A-Za-z0-9._-]{1,128}\/[A-Za-z0-9._-]{1,128}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Parses CoCo init-data (TOML: version, algorithm, [data]) and the Cloak
 * workload description in its `cloak.toml` entry.
 */
export function parseWorkloadInitData(text: string): WorkloadSpec {
  const doc = toml(text, 'init-data');
  const data = doc.data as Record<string, unknown> | undefined;
  const entry = data?.['cloak.toml'];
  if (typeof entry !== 'string') throw new CloakError('AGENT_INITDATA_INVALID', 'init-data has no [data] "cloak.toml" entry describing the workload');
  const w = toml(entry, 'cloak.toml');
  if (typeof w.name !== 'string' || !/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/.test(w.name)) throw new CloakError('AGENT_INITDATA_INVALID', 'cloak.toml needs name = "<workload name>" (lower-case DNS label)');
  const images = w.images ?? [];
  if (!Array.isArray(images) || !images.every((i) => typeof i === 'string' && DIGEST.test(i))) throw new CloakError('AGENT_INITDATA_INVALID', 'cloak.toml images must be a list of sha256:<64 hex> digests');
  const secrets = (w.secrets ?? []) as unknown[];
  if (!Array.isArray(secrets)) throw new CloakError('AGENT_INITDATA_INVALID', 'cloak.toml secrets must be an array of tables ([[secrets]])');
  const seen = new Set<string>();
  const specs = secrets.map((s, i) => {
    const x = s as Record<string, unknown>;
    if (typeof x.resource !== 'string' || !RESOURCE.test(x.resource)) throw new CloakError('AGENT_INITDATA_INVALID', `secrets[${i}].resource must be repo/type/tag`);
    if ((x.file === undefined) === (x.env === undefined)) throw new CloakError('AGENT_INITDATA_INVALID', `secrets[${i}] needs exactly one of file = "…" or env = "…"`);
    if (x.file !== undefined && (typeof x.file !== 'string' || !safeRelative(x.file))) throw new CloakError('AGENT_INITDATA_INVALID', `secrets[${i}].file must be a relative path without ".."`);
    if (x.env !== undefined && (typeof x.env !== 'string' || !ENV_NAME.test(x.env))) throw new CloakError('AGENT_INITDATA_INVALID', `secrets[${i}].env must be a variable name`);
    const key = x.file ? `file:${x.file}` : `env:${x.env}`;
    if (seen.has(key)) throw new CloakError('AGENT_INITDATA_INVALID', `secrets[${i}] writes ${key} twice`);
    seen.add(key);
    return { resource: x.resource, file: x.file as string | undefined, env: x.env as string | undefined };
  });
  return { name: w.name, images: images as string[], server: typeof w.server === 'string' ? w.server : undefined, secrets: specs };
}

function toml(text: string, what: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new CloakError('AGENT_INITDATA_INVALID', `${what} is not valid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
}

export function safeRelative(p: string): boolean {
  return p.length > 0 && p.length < 256 && !p.startsWith('/') && !p.split('/').some((s) => s === '..' || s === '' || s === '.') && !p.includes('\0');
}
