import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CloakError } from '../lib/index.ts';
import { isIP } from 'node:net';
import { isLoopbackHost } from './tls.ts';

/** Server settings: cloak.yaml, then CLOAK_* environment variables, then flags (flags win). */
export interface ServerConfig {
  listen: string; // host:port
  data: string; // data directory
  db: string; // sqlite:PATH | postgres://…
  simRoots: string[]; // PEM files of trusted simulated-TEE roots
  tpmAks: string[]; // PEM files of enrolled TPM attestation keys (tee "tpm")
  collateral?: string; // offline directory of vendor collateral; default: fetch from Intel PCS / AMD KDS and cache
  issuer: string;
  sealingKeyFile: string;
  /** Bearer token of the admin API; created on first start unless it exists (e.g. a mounted Secret). */
  adminTokenFile: string;
  logLevel: string;
  /** How long KBS refusals and challenges stay counted (audit counts), in ms; `refusalRetention: 30d` (h, d). The hash chain is kept whole. */
  refusalRetention: number;
  /** PEM files of the server's certificate (chain) and key: HTTPS. */
  tlsCert?: string;
  tlsKey?: string;
  /** HTTPS with a self-signed certificate created in DATA/tls on first start and reused. */
  tlsSelfSigned: boolean;
  /** Extra DNS names / IPs the self-signed certificate covers (the name clients and guests use). */
  tlsNames: string[];
}

type Partialish = Partial<Record<keyof ServerConfig, unknown>>;

const ENV: Record<string, keyof ServerConfig> = {
  CLOAK_LISTEN: 'listen',
  CLOAK_DATA: 'data',
  CLOAK_DB: 'db',
  CLOAK_SIM_ROOT: 'simRoots',
  CLOAK_TPM_AK: 'tpmAks',
  CLOAK_COLLATERAL: 'collateral',
  CLOAK_ISSUER: 'issuer',
  CLOAK_SEALING_KEY_FILE: 'sealingKeyFile',
  CLOAK_ADMIN_TOKEN_FILE: 'adminTokenFile',
  CLOAK_LOG_LEVEL: 'logLevel',
  CLOAK_REFUSAL_RETENTION: 'refusalRetention',
  CLOAK_TLS_CERT: 'tlsCert',
  CLOAK_TLS_KEY: 'tlsKey',
  CLOAK_TLS_SELF_SIGNED: 'tlsSelfSigned',
  CLOAK_TLS_NAMES: 'tlsNames',
};
const LISTS = new Set<keyof ServerConfig>(['simRoots', 'tpmAks', 'tlsNames']);

export function loadServerConfig(
  flags: Partialish & { config?: string },
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  const file = flags.config ?? env.CLOAK_CONFIG ?? (existsSync('cloak.yaml') ? 'cloak.yaml' : undefined);
  let fromFile: Partialish = {};
  if (file) {
    try {
      fromFile = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Partialish;
    } catch (e) {
      throw new CloakError('CONFIG_INVALID', `cannot read config ${file}: ${(e as Error).message.split('\n')[0]}`);
    }
    if (typeof fromFile !== 'object' || Array.isArray(fromFile))
      throw new CloakError('CONFIG_INVALID', `${file} must be a YAML mapping`);
    const known = new Set([
      'listen',
      'data',
      'db',
      'simRoots',
      'tpmAks',
      'collateral',
      'issuer',
      'sealingKeyFile',
      'adminTokenFile',
      'logLevel',
      'refusalRetention',
      'tlsCert',
      'tlsKey',
      'tlsSelfSigned',
      'tlsNames',
    ]);
    const unknown = Object.keys(fromFile).filter((k) => !known.has(k));
    if (unknown.length) throw new CloakError('CONFIG_INVALID', `${file}: unknown settings ${unknown.join(', ')}`);
  }
  const fromEnv: Partialish = {};
  for (const [name, key] of Object.entries(ENV))
    if (env[name]) fromEnv[key] = LISTS.has(key) ? env[name]!.split(',') : env[name];
  const fromFlags = Object.fromEntries(
    Object.entries(flags).filter(
      ([k, v]) => v !== undefined && k !== 'config' && !(Array.isArray(v) && v.length === 0),
    ),
  );
  const merged = { ...fromFile, ...fromEnv, ...fromFlags } as Partialish;

  const data = resolve(String(merged.data ?? '.cloak'));
  const cfg: ServerConfig = {
    listen: String(merged.listen ?? '127.0.0.1:8080'),
    data,
    db: String(merged.db ?? `sqlite:${join(data, 'cloak.db')}`),
    simRoots: toList(merged.simRoots),
    tpmAks: toList(merged.tpmAks),
    collateral: merged.collateral === undefined ? undefined : String(merged.collateral),
    issuer: String(merged.issuer ?? 'cloak'),
    sealingKeyFile: String(merged.sealingKeyFile ?? join(data, 'sealing.key')),
    adminTokenFile: String(merged.adminTokenFile ?? join(data, 'admin-token')),
    logLevel: String(merged.logLevel ?? 'info'),
    refusalRetention: parseRetention(String(merged.refusalRetention ?? '30d')),
    tlsCert: merged.tlsCert === undefined ? undefined : String(merged.tlsCert),
    tlsKey: merged.tlsKey === undefined ? undefined : String(merged.tlsKey),
    tlsSelfSigned: toBool(merged.tlsSelfSigned, 'tlsSelfSigned'),
    tlsNames: toList(merged.tlsNames),
  };
  checkTls(cfg, parseListen(cfg.listen).host);
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(cfg.db))
    throw new CloakError('CONFIG_INVALID', `--db must be sqlite:PATH or postgres://…, got "${cfg.db}"`);
  return cfg;
}

const HOUR_MS = 3_600_000;

/** `12h` or `30d`, from one hour (counts are kept per hour) to ten years. */
export function parseRetention(text: string): number {
  const m = /^(\d{1,6})([hd])$/.exec(text.trim());
  const ms = m ? Number(m[1]) * (m[2] === 'd' ? 24 : 1) * HOUR_MS : NaN;
  if (!(ms >= HOUR_MS && ms <= 3650 * 24 * HOUR_MS))
    throw new CloakError(
      'CONFIG_INVALID',
      `refusalRetention must be hours or days between 1h and 3650d (e.g. 30d, 12h), got "${text}"`,
    );
  return ms;
}

function toBool(v: unknown, name: string): boolean {
  if (v === undefined || v === false || v === 'false') return false;
  if (v === true || v === 'true') return true;
  throw new CloakError('CONFIG_INVALID', `${name} must be true or false, got "${String(v)}"`);
}

/** HTTPS settings that fit together; plain HTTP only on loopback. */
function checkTls(cfg: ServerConfig, host: string): void {
  if ((cfg.tlsCert === undefined) !== (cfg.tlsKey === undefined))
    throw new CloakError(
      'CONFIG_INVALID',
      '--tls-cert and --tls-key go together: give both (PEM certificate and its key)',
    );
  const badName = cfg.tlsNames.find(
    (n) =>
      !isIP(n) &&
      !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(n),
  );
  if (badName !== undefined)
    throw new CloakError('CONFIG_INVALID', `tlsNames: "${badName}" is not a DNS name or an IP address`);
  if (cfg.tlsCert && cfg.tlsSelfSigned)
    throw new CloakError('CONFIG_INVALID', 'give either --tls-cert/--tls-key or --tls-self-signed, not both');
  if (!cfg.tlsCert && !cfg.tlsSelfSigned && !isLoopbackHost(host)) {
    throw new CloakError(
      'CONFIG_INVALID',
      `listening on ${host} needs HTTPS: give --tls-cert FILE --tls-key FILE, or --tls-self-signed to create a certificate in ${join(cfg.data, 'tls')} on first start (add --tls-name <the name guests and clients use>). Plain HTTP is only for loopback (127.0.0.1, ::1, localhost): a server and its clients on one machine`,
    );
  }
}

function toList(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || port > 65535)
    throw new CloakError('CONFIG_INVALID', `--listen must be HOST:PORT (e.g. 127.0.0.1:8080), got "${listen}"`);
  return { host: m[1], port };
}
