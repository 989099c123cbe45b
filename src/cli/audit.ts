import { Command } from 'commander';
import type { AuditCount, AuditRecord } from '../store/index.ts';
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

/** The flags of `cloak audit ls` and `cloak audit counts`. */
interface AuditQueryOpts {
  server?: string;
  token?: string;
  kind?: string;
  outcome?: string;
  source?: string;
  since?: string;
  limit: string;
  json?: boolean;
}

/** The query string of `--limit` and those of the `filters` that were given. */
function auditQuery(o: AuditQueryOpts, filters: ('kind' | 'outcome' | 'source' | 'since')[]): URLSearchParams {
  const q = new URLSearchParams({ limit: o.limit });
  for (const k of filters) if (o[k]) q.set(k, o[k]);
  return q;
}

export function auditCommand(): Command {
  const cmd = new Command('audit').description('The append-only audit log of attestations, releases and admin changes');
  cmd
    .command('ls')
    .description('List audit records')
    .option('--server <url>', 'Cloak server (default $CLOAK_SERVER)')
    .option('--token <token>', 'admin token (default $CLOAK_TOKEN)')
    .option('--kind <kind>', 'only this kind (kbs.attest, kbs.release, admin.*)')
    .option('--outcome <outcome>', 'ok, refused or error')
    .option('--since <rfc3339>', 'only records at or after this time')
    .option('--limit <n>', 'at most n records', '100')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nKBS refusals and challenges are counted, not listed: see `cloak audit counts`.\n\nExample:\n  cloak audit ls --kind kbs.release --limit 20',
    )
    .action(
      action(async (o: AuditQueryOpts) => {
        const q = auditQuery(o, ['kind', 'outcome', 'since']);
        const records = await clientFrom(o).request<AuditRecord[]>('GET', `/api/v1/audit?${q}`);
        if (o.json) return printJson(records);
        for (const r of records) {
          process.stdout.write(`${r.seq}\t${r.time}\t${r.kind}\t${r.outcome}\t${r.subject ?? ''}\t${r.reason ?? ''}\n`);
        }
      }),
    );
  cmd
    .command('counts')
    .description('KBS refusals and challenges, counted per hour, client address, kind and code (newest hour first)')
    .option('--server <url>', 'Cloak server (default $CLOAK_SERVER)')
    .option('--token <token>', 'admin token (default $CLOAK_TOKEN)')
    .option('--kind <kind>', 'only this kind (kbs.auth, kbs.attest, kbs.release)')
    .option('--outcome <outcome>', 'ok (challenges issued), refused or error')
    .option('--source <address>', 'only this client address ("*" counts the addresses beyond the per-hour cap)')
    .option('--since <rfc3339>', 'only hours that end after this time')
    .option('--limit <n>', 'at most n rows', '100')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  cloak audit counts --outcome refused --since 2026-01-01T00:00:00Z')
    .action(
      action(async (o: AuditQueryOpts) => {
        const q = auditQuery(o, ['kind', 'outcome', 'source', 'since']);
        const counts = await clientFrom(o).request<AuditCount[]>('GET', `/api/v1/audit/counts?${q}`);
        if (o.json) return printJson(counts);
        for (const c of counts) {
          process.stdout.write(
            `${c.hour}\t${c.source}\t${c.kind}\t${c.outcome}\t${c.code}\t${c.count}\t${c.lastTime}\t${c.sample ?? ''}\n`,
          );
        }
      }),
    );
  cmd
    .command('verify')
    .description('Check the hash chain: detects an edited, removed or reordered record')
    .option('--server <url>', 'Cloak server (default $CLOAK_SERVER)')
    .option('--token <token>', 'admin token (default $CLOAK_TOKEN)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  cloak audit verify')
    .action(
      action(async (o: { server?: string; token?: string; json?: boolean }) => {
        const client = clientFrom(o);
        const records = await fetchAll(client, new URLSearchParams());
        const head = await client.request<{ seq: number; hash: string; authentic: boolean }>(
          'GET',
          '/api/v1/audit/head',
        );
        const last = records[records.length - 1];
        const { verifyAuditChain } = await import('../store/index.ts');
        let result = verifyAuditChain(records);
        if (result.ok && !head.authentic)
          result = {
            ok: false,
            seq: head.seq,
            reason: "the recorded head of the log does not carry the server's MAC (tampered)",
          };
        else if (result.ok && (head.seq !== (last?.seq ?? 0) || (last && head.hash !== last.hash))) {
          result = {
            ok: false,
            seq: (last?.seq ?? 0) + 1,
            reason: `the log ends at record ${last?.seq ?? 0} but the server last wrote record ${head.seq}: records were removed from the end`,
          };
        }
        if (o.json) printJson({ ...result, records: records.length });
        if (result.ok) {
          say(`audit log intact: ${records.length} records`);
          return;
        }
        say(`audit log BROKEN at record ${result.seq}: ${result.reason}`);
        return EXIT_FAILURE;
      }),
    );
  return cmd;
}
