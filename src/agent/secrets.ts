import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CloakError } from '../lib/index.ts';
import type { SecretSpec } from './workload.ts';

/** The file beside the file secrets that holds the secret variables, shell-quoted (`. cloak.env`). */
export const ENV_FILE = 'cloak.env';

export interface WriteSecretsOptions {
  /** Mode of the secrets directory once everything is in (the agent: 0755, so the app enters it; cloak run: 0500). */
  mode: number;
  /** Owner of the directory and of everything written into it, e.g. the workload's mapped host ids; its subdirectories are then 0500 (else 0700). */
  owner?: { uid: number; gid: number };
}

export interface WrittenSecrets {
  /** The file secrets, relative to the directory. */
  files: string[];
  /** The variables as `NAME=value`, the way a container's environment takes them (cloak.env holds them too). */
  env: string[];
}

/**
 * Checks what a workload's secrets would write, before anything is: a
 * variable must be text, no file secret may be named cloak.env while there
 * are variables, and no file secret may lie inside another. Returns the
 * variables as `NAME=value`.
 */
export function checkSecrets(secrets: SecretSpec[], values: Map<string, Buffer>): string[] {
  if (secrets.some((s) => s.env) && secrets.some((s) => s.file === ENV_FILE)) {
    throw new CloakError(
      'AGENT_SECRET_CONFLICT',
      `a secret file may not be named ${ENV_FILE}: the secret variables are written there`,
    );
  }
  const files = new Set(secrets.flatMap((s) => (s.file ? [s.file] : [])));
  if (secrets.some((s) => s.env)) files.add(ENV_FILE);
  for (const f of files) {
    for (let d = dirname(f); d !== '.'; d = dirname(d)) {
      if (files.has(d))
        throw new CloakError(
          'AGENT_SECRET_CONFLICT',
          `the secret file ${f} would lie inside the secret file ${d}: give them separate paths`,
        );
    }
  }
  return secrets
    .filter((s) => s.env)
    .map((s) => {
      const value = values.get(s.resource)!;
      if (value.includes(0))
        throw new CloakError(
          'AGENT_ENV_BINARY',
          `secret ${s.resource} holds binary data and cannot be the variable ${s.env}: deliver it as a file`,
        );
      return `${s.env}=${value.toString('utf8')}`;
    });
}

/**
 * Writes a workload's secrets into `dir`: each file secret at its path, the
 * variables in cloak.env, every file 0400. All or nothing: everything is
 * checked first (checkSecrets), then written into a private staging directory
 * inside `dir` and moved in only once all of it is there, replacing what
 * was there under the same names. This is the one way secrets reach a
 * workload, for `cloak agent init` and `cloak run` alike.
 */
export function writeSecrets(
  dir: string,
  secrets: SecretSpec[],
  values: Map<string, Buffer>,
  opts: WriteSecretsOptions,
): WrittenSecrets {
  const env = checkSecrets(secrets, values);
  const entries = new Map<string, Buffer | string>();
  for (const s of secrets) if (s.file) entries.set(s.file, values.get(s.resource)!);
  if (env.length)
    entries.set(
      ENV_FILE,
      env.map((e) => `${e.slice(0, e.indexOf('='))}=${shellQuote(e.slice(e.indexOf('=') + 1))}`).join('\n') + '\n',
    );

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stage = mkdtempSync(join(dir, '.cloak-stage-'));
  const subdirs = new Set<string>();
  try {
    for (const [path, data] of entries) {
      for (let d = dirname(path); d !== '.'; d = dirname(d)) subdirs.add(d);
      mkdirSync(dirname(join(stage, path)), { recursive: true, mode: 0o700 });
      writeFileSync(join(stage, path), data, { mode: 0o400, flag: 'wx' });
      if (opts.owner) chownSync(join(stage, path), opts.owner.uid, opts.owner.gid);
    }
    for (const name of readdirSync(stage)) {
      rmSync(join(dir, name), { recursive: true, force: true });
      renameSync(join(stage, name), join(dir, name));
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  // Deepest first: a directory is made read-only only after what is inside it.
  for (const d of [...[...subdirs].sort((a, b) => b.length - a.length).map((d) => join(dir, d)), dir]) {
    if (opts.owner) chownSync(d, opts.owner.uid, opts.owner.gid);
    chmodSync(d, d === dir ? opts.mode : opts.owner ? 0o500 : 0o700);
  }
  return { files: secrets.filter((s) => s.file).map((s) => s.file!), env };
}

/** Single-quotes a value for a POSIX shell env file. */
export function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}
