import { Command } from 'commander';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { CloakError } from '../lib/errors.ts';
import { action, printJson, say } from './output.ts';

/** Reads a P-256 private key from a JWK file (as `cloak secret keygen` and guest-components' `secret keygen` write it) or a PEM. */
export function readSealingKey(file: string): KeyObject {
  const text = readFileSync(file, 'utf8');
  try {
    return text.trimStart().startsWith('{')
      ? createPrivateKey({ key: JSON.parse(text), format: 'jwk' })
      : createPrivateKey(text);
  } catch (e) {
    throw new CloakError('SEALED_SECRET_KEY', `${file} is not a private JWK or PEM key: ${(e as Error).message}`);
  }
}

/** `cloak generate`'s --sealing-key/--sealing-kid: both or neither. */
export function sealingFrom(o: {
  sealingKey?: string;
  sealingKid?: string;
}): { key: KeyObject; kid: string } | undefined {
  if (!o.sealingKey && !o.sealingKid) return undefined;
  if (!o.sealingKey || !o.sealingKid)
    throw new CloakError('USAGE_SEALING', 'give --sealing-key FILE and --sealing-kid repo/type/tag together');
  return { key: readSealingKey(o.sealingKey), kid: o.sealingKid };
}

export function secretCommand(): Command {
  const cmd = new Command('secret').description(
    'CoCo sealed secrets: env values "sealed.…" the guest\'s data hub unseals through the KBS before the app starts',
  );
  cmd
    .command('keygen')
    .description(
      'Create a sealing key pair (EC P-256 JWKs): the private key signs sealed secrets, the public key goes to the KBS at the kid',
    )
    .requiredOption('--out <file>', 'private JWK file (mode 0600); the public JWK goes to FILE.pub')
    .addHelpText(
      'after',
      '\nExample:\n  cloak secret keygen --out sealing.jwk\n  cloak resource set default/sealing/key --file sealing.jwk.pub',
    )
    .action(
      action(async (o: { out: string }) => {
        const { sealingPublicJwk } = await import('../manifest/index.ts');
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        writeFileSync(
          o.out,
          JSON.stringify({ ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig' }, null, 2) + '\n',
          { mode: 0o600, flag: 'wx' },
        );
        writeFileSync(`${o.out}.pub`, JSON.stringify(sealingPublicJwk(privateKey), null, 2) + '\n', { flag: 'wx' });
        say(`wrote ${o.out} and ${o.out}.pub (store the public key as the resource you give as --kid)`);
      }),
    );
  cmd
    .command('seal')
    .description(
      'Print the sealed secret (vault, provider kbs) for a KBS resource; the value itself stays on the server',
    )
    .requiredOption('--resource <repo/type/tag>', 'the resource the guest fetches when it unseals')
    .requiredOption('--key <file>', 'the private sealing key (JWK or PEM, EC P-256)')
    .requiredOption(
      '--kid <repo/type/tag>',
      'the resource holding the public key (the guest fetches kbs:///KID to verify)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  cloak secret seal --resource default/secret/db-password --key sealing.jwk --kid default/sealing/key',
    )
    .action(
      action(async (o: { resource: string; key: string; kid: string }) => {
        const { sealVaultSecret } = await import('../manifest/index.ts');
        process.stdout.write(
          (await sealVaultSecret({ resource: o.resource, kid: o.kid, key: readSealingKey(o.key) })) + '\n',
        );
      }),
    );
  cmd
    .command('inspect <sealed>')
    .description(
      "Check a sealed secret as the guest's data hub reads it and print its header and payload (- reads stdin); --key also verifies the signature",
    )
    .option('--key <file>', 'the public sealing key (JWK) to verify with')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExample:\n  cloak secret inspect "$(kubectl get deploy web -o jsonpath=\'{.spec.template.spec.containers[0].env[0].value}\')" --key sealing.jwk.pub',
    )
    .action(
      action(async (arg: string, o: { key?: string; json?: boolean }) => {
        const { parseSealedSecret, verifySealedSecret } = await import('../manifest/index.ts');
        const value = (arg === '-' ? readFileSync(0, 'utf8') : arg).trim();
        let key: unknown;
        if (o.key) {
          try {
            key = JSON.parse(readFileSync(o.key, 'utf8'));
          } catch {
            throw new CloakError('SEALED_SECRET_KEY', `${o.key} is not a JWK (JSON)`);
          }
        }
        const s = key
          ? await verifySealedSecret(value, key as import('node:crypto').JsonWebKey)
          : parseSealedSecret(value);
        const out = {
          header: s.header,
          payload: s.payload,
          resource: s.resource,
          kidResource: s.kidResource,
          signature: key ? 'verified' : 'not checked (give --key)',
        };
        if (o.json) return printJson(out);
        process.stdout.write(
          `kid       ${s.header.kid}\ntype      ${s.payload.type} (provider ${s.payload.provider})\n${s.payload.type === 'vault' ? `name      ${s.payload.name}\n` : `key_id    ${s.payload.key_id}\n`}signature ${out.signature}\n`,
        );
      }),
    );
  return cmd;
}
