import { parse as parseToml, stringify } from 'smol-toml';
import { initDataText, isResourcePath, type InitDataAlgorithm } from '../lib/index.ts';
import { attestationAgentConfig, dataHubConfig } from './guest-config.ts';
import { ENV_NAME, IMAGE_DIGEST, isWorkloadName, safeRelative } from './names.ts';

/*
 * The `cloak.toml` entry of a workload's CoCo init-data: which workload the
 * pod is, which images it runs and where each of its secrets goes. Written by
 * `cloak generate` and `cloak run`, read by the agent (to fetch and place the
 * secrets) and by the key broker (to know whom a token speaks for). Its digest,
 * with the rest of the init-data, is held by the hardware.
 */

export const WORKLOAD_ENTRY = 'cloak.toml';

/** One secret a workload receives: a KBS resource written to a file under the secrets dir, or an environment variable. */
export interface SecretSpec {
  resource: string; // repo/type/tag
  file?: string; // relative path under the secrets directory
  env?: string; // environment variable name
}

/** What the `cloak.toml` entry says. */
export interface WorkloadSpec {
  name: string;
  images: string[]; // digests (sha256:…) the workload may run
  server?: string;
  secrets: SecretSpec[];
}

export interface WorkloadInitData extends WorkloadSpec {
  /** The Kata agent policy (Rego) for the pod, carried as `policy.rego`. */
  policy?: string;
  /** PEM of the server's TLS certificate, pinned in `aa.toml` and `cdh.toml`. */
  serverCert?: string;
  /** Image references (pinned by digest, as the guest pulls them) the guest's image security policy accepts; none given: no policy. */
  imageRefs?: string[];
  /** The digest the platform binds (default sha256). */
  algorithm?: InitDataAlgorithm;
}

/**
 * CoCo init-data TOML for a workload: the `cloak.toml` entry plus the
 * attestation agent's and data hub's KBS settings and the Kata agent policy.
 * Deterministic: the same workload always gives the same text, hence the same digest.
 */
export function workloadInitData(w: WorkloadInitData): string {
  const cloak = stringify({
    name: w.name,
    ...(w.server ? { server: w.server } : {}),
    images: [...w.images].sort(),
    secrets: w.secrets.map((s) => ({ resource: s.resource, ...(s.file ? { file: s.file } : { env: s.env! }) })),
  });
  const data: Record<string, string> = { [WORKLOAD_ENTRY]: cloak };
  if (w.server) {
    const server = { url: w.server, cert: w.serverCert };
    data['aa.toml'] = attestationAgentConfig(server);
    data['cdh.toml'] = dataHubConfig(server, w.imageRefs);
  }
  if (w.policy !== undefined) data['policy.rego'] = w.policy;
  return initDataText(data, w.algorithm);
}

/**
 * Reads and checks the `cloak.toml` entry of an init-data `[data]` table.
 * `refuse` makes the caller's error (the agent's, the broker's) from a message that says what is wrong.
 */
export function readWorkloadEntry(data: unknown, refuse: (message: string) => Error): WorkloadSpec {
  const entry = (data as Record<string, unknown> | undefined)?.[WORKLOAD_ENTRY];
  if (typeof entry !== 'string') throw refuse(`init-data has no [data] "${WORKLOAD_ENTRY}" entry naming the workload`);
  let w: Record<string, unknown>;
  try {
    w = parseToml(entry) as Record<string, unknown>;
  } catch (e) {
    throw refuse(`${WORKLOAD_ENTRY} is not valid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!isWorkloadName(w.name)) throw refuse(`${WORKLOAD_ENTRY} needs name = "<workload name>" (lower-case DNS label)`);
  const images = w.images ?? [];
  if (!Array.isArray(images) || !images.every((i) => typeof i === 'string' && IMAGE_DIGEST.test(i)))
    throw refuse(`${WORKLOAD_ENTRY} images must be a list of sha256:<64 hex> digests`);
  const secrets = w.secrets ?? [];
  if (!Array.isArray(secrets)) throw refuse(`${WORKLOAD_ENTRY} secrets must be an array of tables ([[secrets]])`);
  const specs = readSecretSpecs(secrets, refuse, 'secrets');
  return {
    name: w.name,
    images: images as string[],
    server: typeof w.server === 'string' ? w.server : undefined,
    secrets: specs,
  };
}

/**
 * Checks a list of secret deliveries `{resource, file | env}` (from `cloak.toml`, or from the agent's
 * arguments): resource paths, safe relative files, variable names, nothing written twice.
 */
export function readSecretSpecs(secrets: unknown[], refuse: (message: string) => Error, where: string): SecretSpec[] {
  const seen = new Set<string>();
  const specs = secrets.map((s, i) => {
    const x = s as Record<string, unknown>;
    if (!isResourcePath(x.resource)) throw refuse(`${where}[${i}].resource must be repo/type/tag`);
    if ((x.file === undefined) === (x.env === undefined))
      throw refuse(`${where}[${i}] needs exactly one of file = "…" or env = "…"`);
    if (x.file !== undefined && (typeof x.file !== 'string' || !safeRelative(x.file)))
      throw refuse(`${where}[${i}].file must be a relative path without ".."`);
    if (x.env !== undefined && (typeof x.env !== 'string' || !ENV_NAME.test(x.env)))
      throw refuse(`${where}[${i}].env must be a variable name`);
    const key = x.file ? `file:${x.file}` : `env:${x.env}`;
    if (seen.has(key)) throw refuse(`${where}[${i}] writes ${key} twice`);
    seen.add(key);
    return { resource: x.resource, file: x.file as string | undefined, env: x.env as string | undefined };
  });
  return specs;
}
