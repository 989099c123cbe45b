import { AgentKbsClient, type Attester } from './kbs-client.ts';
import { writeSecrets } from './secrets.ts';
import type { WorkloadSpec } from './workload.ts';

export interface AgentInitResult {
  token: string;
  files: string[];
  env: string[];
}

/**
 * Attests as the workload, fetches each of its secrets and writes them into
 * `out` (writeSecrets: files 0400, variables in `cloak.env`, all or nothing),
 * which the app, of another uid, may then enter (0755).
 */
export async function runAgentInit(opts: {
  server: string;
  out: string;
  workload: WorkloadSpec;
  initData?: string;
  attester: Attester;
}): Promise<AgentInitResult> {
  const client = new AgentKbsClient({ url: opts.server, attester: opts.attester, initData: opts.initData });
  const token = await client.attest();
  const values = new Map<string, Buffer>();
  for (const s of opts.workload.secrets) {
    if (!values.has(s.resource)) values.set(s.resource, await client.resource(s.resource));
  }
  const { files, env } = writeSecrets(opts.out, opts.workload.secrets, values, { mode: 0o755 });
  return { token, files, env: env.map((e) => e.slice(0, e.indexOf('='))) };
}
