import { Command } from 'commander';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { CloakError } from '../lib/errors.ts';
import type { ManifestSignature } from '../kbs/index.ts';
import { clientFrom } from './client.ts';
import { action, printJson, say } from './output.ts';

async function signManifest(text: string, user: string, keyFile: string): Promise<ManifestSignature> {
  const [{ parseManifest }, { signingInput }] = await Promise.all([
    import('../kbs/index.ts'),
    import('../manifest/index.ts'),
  ]);
  const manifest = parseManifest(text);
  let key;
  try {
    key = createPrivateKey(readFileSync(keyFile));
  } catch {
    throw new CloakError('USAGE_KEY', `cannot read a private key (PEM) from ${keyFile}`);
  }
  const hash = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  return { user, signature: sign(hash, signingInput(manifest.digest), key).toString('base64') };
}

export function manifestCommand(): Command {
  const cmd = new Command('manifest').description(
    'The signed, versioned manifest: workloads, their reference values and exactly which secrets each gets',
  );
  cmd
    .command('keygen')
    .description('Create an owner key pair (EC P-256): the private key to sign with, the public key for the manifest')
    .requiredOption('--out <file>', 'private key file (PEM, mode 0600); the public key goes to FILE.pub')
    .addHelpText('after', '\nExample:\n  cloak manifest keygen --out alice.pem')
    .action(
      action(async (o: { out: string }) => {
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        writeFileSync(o.out, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
        writeFileSync(`${o.out}.pub`, publicKey.export({ type: 'spki', format: 'pem' }));
        say(`wrote ${o.out} and ${o.out}.pub (put the public key under owners.users[].publicKey)`);
      }),
    );
  cmd
    .command('schema')
    .description('Print the JSON Schema of the manifest document (what `set`, `sign` and `generate --manifest` check)')
    .addHelpText(
      'after',
      "\nExample:\n  cloak manifest schema > manifest.schema.json   # for an editor's YAML language server",
    )
    .action(
      action(async () => {
        const { ManifestDocument } = await import('../manifest/index.ts');
        printJson(ManifestDocument);
      }),
    );
  cmd
    .command('sign <file>')
    .description('Sign a manifest as an owner; prints the signature as JSON (collect N of them)')
    .requiredOption('--user <name>', 'your name in owners.users')
    .requiredOption('--key <pem>', 'your private key')
    .addHelpText('after', '\nExample:\n  cloak manifest sign manifest.yaml --user bob --key bob.pem > bob.sig.json')
    .action(
      action(async (file: string, o: { user: string; key: string }) => {
        printJson(await signManifest(readFileSync(file, 'utf8'), o.user, o.key));
      }),
    );
  cmd
    .command('set <file>')
    .description('Upload a manifest signed by enough owners (--key signs now, --sig adds collected signatures)')
    .option('--user <name>', 'your name in owners.users (with --key)')
    .option('--key <pem>', 'sign with this private key')
    .option('--sig <json...>', 'signature files from `cloak manifest sign`')
    .option('--server <url>', 'Cloak server (default $CLOAK_SERVER)')
    .option('--token <token>', 'admin token (default $CLOAK_TOKEN)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  cloak manifest set manifest.yaml --user alice --key alice.pem --sig bob.sig.json',
    )
    .action(
      action(
        async (
          file: string,
          o: { user?: string; key?: string; sig?: string[]; server?: string; token?: string; json?: boolean },
        ) => {
          const text = readFileSync(file, 'utf8');
          const signatures: ManifestSignature[] = (o.sig ?? []).map((f) => JSON.parse(readFileSync(f, 'utf8')));
          if (o.key) {
            if (!o.user) throw new CloakError('USAGE_USER', '--key needs --user (your name in owners.users)');
            signatures.push(await signManifest(text, o.user, o.key));
          }
          const r = await clientFrom(o).request<{ version: number; digest: string; generated: string[] }>(
            'PUT',
            '/api/v1/manifest',
            { manifest: text, signatures },
          );
          if (o.json) printJson(r);
          say(
            `manifest version ${r.version} in force (${r.digest})${r.generated.length ? `; generated ${r.generated.join(', ')}` : ''}`,
          );
        },
      ),
    );
  cmd
    .command('get')
    .description('Print the manifest in force (or --version N); --json adds its digest and history')
    .option('--version <n>', 'an earlier version')
    .option('--server <url>', 'Cloak server (default $CLOAK_SERVER)')
    .option('--token <token>', 'admin token (default $CLOAK_TOKEN)')
    .option('--json', 'print version, digest, text and history as JSON')
    .addHelpText('after', '\nExample:\n  cloak manifest get > manifest.yaml\n  cloak manifest get --json | jq .history')
    .action(
      action(async (o: { version?: string; server?: string; token?: string; json?: boolean }) => {
        const r = await clientFrom(o).request<{ text: string }>(
          'GET',
          `/api/v1/manifest${o.version ? `?version=${encodeURIComponent(o.version)}` : ''}`,
        );
        if (o.json) return printJson(r);
        process.stdout.write(r.text.endsWith('\n') ? r.text : r.text + '\n');
      }),
    );
  return cmd;
}
