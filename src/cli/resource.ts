import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CloakError } from '../lib/errors.ts';
import { clientFrom } from './client.ts';
import { action, printJson, say } from './output.ts';

const serverOptions = (c: Command) =>
  c
    .option('--server <url>', 'Cloak server (default $CLOAK_SERVER)')
    .option('--token <token>', 'admin token (default $CLOAK_TOKEN)');

export function resourceCommand(): Command {
  const cmd = new Command('resource').description('Manage secrets and keys the key broker releases (repo/type/tag)');
  serverOptions(cmd.command('set <path>'))
    .description('Store a resource; the value comes from --file, --value or stdin')
    .option('--file <file>', 'read the value from a file')
    .option('--value <text>', 'the value as text')
    .addHelpText(
      'after',
      '\nExample:\n  cloak resource set default/secret/db-password --value s3cret\n  cloak resource set default/key/1 --file kek.bin',
    )
    .action(
      action(async (path: string, o: { server?: string; token?: string; file?: string; value?: string }) => {
        if (o.file && o.value !== undefined) throw new CloakError('USAGE_CONFLICT', 'give --file or --value, not both');
        const value = o.file ? readFileSync(o.file) : o.value !== undefined ? Buffer.from(o.value) : readFileSync(0);
        await clientFrom(o).request('PUT', `/api/v1/resources/${path}`, { value: value.toString('base64') });
        say(`stored ${path} (${value.length} bytes)`);
      }),
    );
  serverOptions(cmd.command('ls'))
    .description('List resources (names and sizes; values never leave the server this way)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  cloak resource ls --json')
    .action(
      action(async (o: { server?: string; token?: string; json?: boolean }) => {
        const list = await clientFrom(o).request<Array<{ path: string; size: number; updatedAt: string }>>(
          'GET',
          '/api/v1/resources',
        );
        if (o.json) return printJson(list);
        for (const r of list) process.stdout.write(`${r.path}\t${r.size}\t${r.updatedAt}\n`);
      }),
    );
  serverOptions(cmd.command('rm <path>'))
    .description('Delete a resource')
    .addHelpText('after', '\nExample:\n  cloak resource rm default/secret/db-password')
    .action(
      action(async (path: string, o: { server?: string; token?: string }) => {
        await clientFrom(o).request('DELETE', `/api/v1/resources/${path}`);
        say(`deleted ${path}`);
      }),
    );
  return cmd;
}

export function policyCommand(): Command {
  const cmd = new Command('policy').description(
    'Read or replace the attestation policy (YAML + CEL) or the resource policy (CEL)',
  );
  serverOptions(cmd.command('get <kind>'))
    .description('Print the attestation or resource policy')
    .option('--json', 'print JSON with kind, text and whether it is the default')
    .addHelpText('after', '\nExample:\n  cloak policy get attestation > policy.yaml')
    .action(
      action(async (kind: string, o: { server?: string; token?: string; json?: boolean }) => {
        const p = await clientFrom(o).request<{ text: string }>('GET', `/api/v1/policies/${kind}`);
        if (o.json) return printJson(p);
        process.stdout.write(p.text.endsWith('\n') ? p.text : p.text + '\n');
      }),
    );
  serverOptions(cmd.command('set <kind> <file>'))
    .description('Replace a policy; the server refuses one that does not compile ("-" reads stdin)')
    .addHelpText(
      'after',
      '\nExample:\n  cloak policy set attestation policy.yaml\n  echo \'status == "affirming" && resource.repository == "default"\' | cloak policy set resource -',
    )
    .action(
      action(async (kind: string, file: string, o: { server?: string; token?: string }) => {
        const text = readFileSync(file === '-' ? 0 : file, 'utf8');
        await clientFrom(o).request('PUT', `/api/v1/policies/${kind}`, { text });
        say(`${kind} policy updated`);
      }),
    );
  return cmd;
}
