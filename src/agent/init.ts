import { mkdirSync, mkdtempSync, writeFileSync, renameSync, rmSync, readdirSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CloakError } from '../lib/index.ts';
import { AgentKbsClient, type Attester } from './kbs-client.ts';
import type { WorkloadSpec } from './workload.ts';

export const ENV_FILE = 'cloak.env';

export interface AgentInitResult { token: string; files: string[]; env: string[] }

/**
 * Attests as the workload, fetches each of its secrets and writes them into
 * `out` (files 0400, variables in `cloak.env`). All or nothing: secrets are
 * staged in a private directory and moved in only after every one arrived.
 */
export async function runAgentInit(opts: { server: string; out: string; workload: WorkloadSpec; initData?: string; attester: Attester }): Promise<AgentInitResult> {
  const client = new AgentKbsClient({ url: opts.server, attester: opts.attester, initData: opts.initData });
  const token = await client.attest();
  const values = new Map<string, Buffer>();
  for (const s of opts.workload.secrets) {
    if (!values.has(s.resource)) values.set(s.resource, await client.resource(s.resource));
  }
  mkdirSync(opts.out, { recursive: true, mode: 0o700 });
  const stage = mkdtempSync(join(opts.out, '.cloak-stage-'));
  try {
    const files: string[] = [];
    const env: string[] = [];
    for (const s of opts.workload.secrets) {
      const value = values.get(s.resource)!;
      if (s.file) {
        const path = join(stage, s.file);
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(path, value, { mode: 0o400, flag: 'wx' });
        files.push(s.file);
      } else if (s.env) {
        if (value.includes(0)) throw new CloakError('AGENT_ENV_BINARY', `secret ${s.resource} holds binary data and cannot be the variable ${s.env}: deliver it as a file`);
        env.push(`${s.env}=${shellQuote(value.toString('utf8'))}`);
      }
    }
    if (env.length) writeFileSync(join(stage, ENV_FILE), env.join('\n') + '\n', { mode: 0o400 });
    for (const name of readdirSync(stage)) {
      rmSync(join(opts.out, name), { recursive: true, force: true });
      renameSync(join(stage, name), join(opts.out, name));
    }
    chmodSync(opts.out, 0o755);
    return { token, files, env: env.map((e) => e.slice(0, e.indexOf('='))) };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Single-quotes a value for a POSIX shell env file. */
export function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}
