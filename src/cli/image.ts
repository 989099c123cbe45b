import { Command } from 'commander';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CloakError } from '../lib/errors.ts';
import { kbsUri } from '../lib/resource-path.ts';
import { layerLimitFlags, registryFlags, registryOptions, type RegistryFlags } from './convert.ts';
import { action, printJson, say } from './output.ts';

export function imageCommand(): Command {
  const cmd = new Command('image').description('Inspect and decrypt images (OCI layouts)');
  const decrypt = cmd
    .command('decrypt <src> <dst>')
    .description(
      'Decrypt every encrypted layer with a private key, like skopeo --decryption-key; writes nothing on a failed check',
    )
    .requiredOption('--key <pem>', 'private key of a jwe recipient');
  layerLimitFlags(registryFlags(decrypt))
    .option('--json', 'print a summary as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  cloak image decrypt oci:./app-enc:v1 oci:./app-plain:v1 --key priv.pem\n  cloak image decrypt docker://localhost:5000/app:enc oci:./app:v1 --key priv.pem --tls-verify=false',
    )
    .action(
      action(
        async (
          src: string,
          dst: string,
          o: {
            key: string;
            maxLayerSize?: string;
            maxLayerRatio?: string;
            json?: boolean;
          } & RegistryFlags,
        ) => {
          const { decryptImage, parseImageRef, openImage, imageTarget, layerLimitsFrom } =
            await import('../oci/index.ts');
          const limits = layerLimitsFrom(o);
          let privateKey;
          try {
            privateKey = createPrivateKey(readFileSync(o.key));
          } catch {
            throw new CloakError('USAGE_KEY', `cannot read a private key (PEM) from ${o.key}`);
          }
          const reg = await registryOptions(o);
          const source = await openImage(parseImageRef(src), reg);
          const target = imageTarget(parseImageRef(dst), reg);
          try {
            const r = await decryptImage(source.layout, source.tag, target.layout, target.tag, { privateKey }, limits);
            const pushed = await target.commit();
            if (o.json)
              printJson({ image: dst, manifestDigest: pushed ?? r.manifest.digest, decryptedLayers: r.decrypted });
            say(`${dst}: ${r.decrypted} layer(s) decrypted; manifest ${r.manifest.digest}`);
          } finally {
            source.cleanup();
            target.cleanup();
          }
        },
      ),
    );
  const inspect = cmd
    .command('inspect <ref>')
    .description('Show an image: digest, platform, layers and how each is encrypted')
    .option('--json', 'print JSON');
  registryFlags(inspect)
    .addHelpText(
      'after',
      '\nExample:\n  cloak image inspect oci:./app-enc:v1 --json\n  cloak image inspect docker://localhost:5000/app:enc --tls-verify=false',
    )
    .action(
      action(async (ref: string, o: { json?: boolean } & RegistryFlags) => {
        const { isEncrypted, layerKeyResources, parseImageRef, openImage } = await import('../oci/index.ts');
        const source = await openImage(parseImageRef(ref), await registryOptions(o));
        let resolved;
        try {
          resolved = source.layout.resolve(source.tag);
        } finally {
          source.cleanup();
        }
        const { descriptor, manifest, config } = resolved;
        const info = {
          reference: ref,
          digest: descriptor.digest,
          os: config.os,
          architecture: config.architecture,
          config: config.config ?? {},
          layers: manifest.layers.map((l) => ({
            digest: l.digest,
            size: l.size,
            mediaType: l.mediaType,
            encrypted: isEncrypted(l),
            recipients: [
              ...(l.annotations?.['org.opencontainers.image.enc.keys.jwe'] ? ['jwe'] : []),
              ...layerKeyResources(l).map(kbsUri),
            ],
          })),
        };
        if (o.json) return printJson(info);
        process.stdout.write(`${ref}\n  digest   ${info.digest}\n  platform ${info.os}/${info.architecture}\n`);
        for (const l of info.layers)
          process.stdout.write(
            `  layer    ${l.digest} ${l.size} ${l.encrypted ? `encrypted (${l.recipients.join(', ')})` : 'plain'}\n`,
          );
      }),
    );
  return cmd;
}
