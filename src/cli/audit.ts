import { Command } from 'commander';
import type { AuditRecord } from '../store/index.ts';
import { clientFrom, type AdminClient } from './client.ts';
import { action, printJson, say, EXIT_FAILURE } from './output.ts';

async function fetchAll(client: AdminClient, q: URLSearchParams): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (let after = 0; ;) {
    q.set('afterSeq', String(after));
    q.set('limit', '1000');
    const page = await client.request<AuditRecord[]>('GET', `/api/v1/audit?${q}`);
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.seq;
  }
}

export function auditCommand(): Command {
  const cmd = new Command('audit').description('The append-only audit log of attestations, releases and admin changes');
  cmd.command('ls')
    .description('List audit records')
    .option('--server <url>', 'Cloak server (default $CLOAK_SERVER)')
    .option('--token <token>', 'admin token (default $CLOAK_TOKEN)')
    .option('--kind <kind>', 'only this kind (kbs.auth, kbs.attest, kbs.release, admin.*)')
    .option('--outcome <outcome>', 'ok, refused or error')
    .option('--since <rfc3339>', 'only records at or after this time')
    .option('--limit <n>', 'at most n records', '100')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  cloak audit ls --outcome refused --limit 20')
    .action(action(async (o: { server?: string; token?: string; kind?: string; outcome?: string; since?: string; limit: string; json?: boolean }) => {
      const q = new URLSearchParams({ limit: o.limit });
      if (o.kind) q.set('kind', o.kind);
      if (o.outcome) q.set('outcome', o.outcome);
      if (o.since) q.set('since', o.since);
      const records = await clientFrom(o).request<AuditRecord[]>('GET', `/api/v1/audit?${q}`);
      if (o.json) return printJson(records);
      for (const r of records) {
        process.stdout.write(`${r.seq}\t${r.time}\t${r.kind}\t${r.outcome}\t${r.subject ?? ''}\t${r.reason ?? ''}\n`);
      }
    }));
  cmd.command('verify')
    .description('Check the hash chain: detects an edited, removed or reordered record')
    .option('--server <url>', 'Cloak server (default $CLOAK_SERVER)')
    .option('--token <token>', 'admin token (default $CLOAK_TOKEN)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  cloak audit verify')
    .action(action(async (o: { server?: string; token?: string; json?: boolean }) => {
      const client = clientFrom(o);
      const records = await fetchAll(client, new URLSearchParams());
      const head = await client.request<{ seq: number; hash: string; authentic: boolean }>('GET', '/api/v1/audit/head');
      const last = records[records.length - 1];
      const { verifyAuditChain } = await import('../store/index.ts');
      let result = verifyAuditChain(records);
      if (result.ok && !head.authentic) result = { ok: false, seq: head.seq, reason: 'the recorded head of the log does not carry the server\'s MAC (tampered)' };
      else if (result.ok && (head.seq !== (last?.seq ?? 0) || (last && head.hash !== last.hash))) {
        result = { ok: false, seq: (last?.seq ?? 0) + 1, reason: `the log ends at record ${last?.seq ?? 0} but the server last wrote record ${head.seq}: records were removed from the end` };
      }
      if (o.json) printJson({ ...result, records: records.length });
      if (result.ok) {
        say(`audit log intact: ${records.length} records`);
        return;
      }
      say(`audit log BROKEN at record ${result.seq}: ${result.reason}`);
      return EXIT_FAILURE;
    }));
  return cmd;
}
