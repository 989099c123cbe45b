import { Command } from 'commander';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CloakError } from '../lib/index.ts';
import { OciLayout, parseOciReference, decryptImage, isEncrypted, layerKeyResources } from '../oci/index.ts';
import { action, printJson, say } from './output.ts';

export function imageCommand(): Command {
  const cmd = new Command('image').description('Inspect and decrypt images (OCI layouts)');
  cmd.command('decrypt <src> <dst>')
    .description('Decrypt every encrypted layer with a private key, like skopeo --decryption-key; writes nothing on a failed check')
    .requiredOption('--key <pem>', 'private key of a jwe recipient')
    .addHelpText('after', '\nExample:\n  cloak image decrypt oci:./app-enc:v1 oci:./app-plain:v1 --key priv.pem')
    .action(action(async (src: string, dst: string, o: { key: string }) => {
      const s = parseOciReference(src);
      const d = parseOciReference(dst);
      if (!d.tag) throw new CloakError('USAGE_DST', 'the destination needs a tag: oci:DIR:TAG');
      let privateKey;
      try { privateKey = createPrivateKey(readFileSync(o.key)); } catch { throw new CloakError('USAGE_KEY', `cannot read a private key (PEM) from ${o.key}`); }
      const r = await decryptImage(OciLayout.open(s.dir), s.tag, OciLayout.create(d.dir), d.tag, { privateKey });
      say(`${dst}: ${r.decrypted} layer(s) decrypted; manifest ${r.manifest.digest}`);
    }));
  cmd.command('inspect <ref>')
    .description('Show an image: digest, platform, layers and how each is encrypted')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  cloak image inspect oci:./app-enc:v1 --json')
    .action(action(async (ref: string, o: { json?: boolean }) => {
      const r = parseOciReference(ref);
      const { descriptor, manifest, config } = OciLayout.open(r.dir).resolve(r.tag);
      const info = {
        reference: ref, digest: descriptor.digest, os: config.os, architecture: config.architecture, config: config.config ?? {},
        layers: manifest.layers.map((l) => ({
          digest: l.digest, size: l.size, mediaType: l.mediaType, encrypted: isEncrypted(l),
          recipients: [...(l.annotations?.['org.opencontainers.image.enc.keys.jwe'] ? ['jwe'] : []), ...layerKeyResources(l).map((k) => `kbs:///${k}`)],
        })),
      };
      if (o.json) return printJson(info);
      process.stdout.write(`${ref}\n  digest   ${info.digest}\n  platform ${info.os}/${info.architecture}\n`);
      for (const l of info.layers) process.stdout.write(`  layer    ${l.digest} ${l.size} ${l.encrypted ? `encrypted (${l.recipients.join(', ')})` : 'plain'}\n`);
    }));
  return cmd;
}
