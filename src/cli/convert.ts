import { Command } from 'commander';
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CloakError } from '../lib/errors.ts';
import { isResourcePath, kbsUri } from '../lib/resource-path.ts';
import type { ImageRef } from '../oci/index.ts';
import { DEFAULT_LAYER_LIMITS, ENV_MAX_LAYER_RATIO, ENV_MAX_LAYER_SIZE, RATIO_FLOOR } from '../oci/layer-limits.ts';
import { clientFrom, type AdminClient } from './client.ts';
import { action, printJson, say } from './output.ts';
import { progress } from './progress.ts';

/** What the server records for policies: the converted image's manifest, config and layer digests. */
export interface ReferenceValues {
  image: string;
  manifestDigest: string;
  configDigest: string;
  layers: string[];
}

/** Stores the key-encryption key as KBS resource default/key/<id> (admin API). */
export async function storeKeyEncryptionKey(client: AdminClient, keyId: string, kek: Buffer): Promise<void> {
  await client.request('PUT', `/api/v1/resources/default/key/${encodeURIComponent(keyId)}`, {
    value: kek.toString('base64'),
  });
}

/** Records the image's reference values under `name` (admin API). */
export async function recordReferenceValues(client: AdminClient, name: string, refs: ReferenceValues): Promise<void> {
  await client.request('PUT', `/api/v1/reference-values/${encodeURIComponent(name)}`, refs);
}

const collect = (v: string, all: string[]) => [...all, v];

function recipientKey(spec: string): KeyObject {
  const m = /^jwe:(.+)$/.exec(spec);
  if (!m) throw new CloakError('USAGE_RECIPIENT', `recipient "${spec}" must be jwe:PUBKEY.pem`);
  try {
    return createPublicKey(readFileSync(m[1]!));
  } catch {
    throw new CloakError('USAGE_RECIPIENT', `cannot read a public key (PEM) from ${m[1]}`);
  }
}

/** Registry settings shared by the image commands. */
/** The flags of the commands that read images from registries: `--tls-verify`, `--creds`, `--platform`. */
export interface RegistryFlags {
  tlsVerify: string;
  creds?: string;
  platform?: string;
}

/** Adds the registry flags to a command; registryOptions reads them. */
export function registryFlags(cmd: Command): Command {
  return cmd
    .option('--tls-verify <bool>', 'false: talk plain HTTP to the registry (loopback/test registries)', 'true')
    .option('--creds <user:password>', 'registry credentials (default: ~/.docker/config.json)')
    .option('--platform <os/arch>', "which image of a multi-platform index (default: this machine's)");
}

export async function registryOptions(o: Partial<RegistryFlags>) {
  const { parsePlatform } = await import('../oci/index.ts');
  const i = o.creds?.indexOf(':') ?? -1;
  return {
    tlsVerify: o.tlsVerify !== 'false',
    auth: o.creds
      ? { username: o.creds.slice(0, i < 0 ? undefined : i), password: i < 0 ? '' : o.creds.slice(i + 1) }
      : undefined,
    platform: o.platform ? parsePlatform(o.platform) : undefined,
  };
}

const GiB = 1024 ** 3;

/** The options of the commands that inflate layers (`run`, `image decrypt`): bounds against decompression bombs. */
export function layerLimitFlags(cmd: Command): Command {
  return cmd
    .option(
      '--max-layer-size <size>',
      `refuse a layer that inflates beyond this many bytes (512MiB, 2GiB, …; default ${DEFAULT_LAYER_LIMITS.maxSize / GiB}GiB, or $${ENV_MAX_LAYER_SIZE})`,
    )
    .option(
      '--max-layer-ratio <n>',
      `refuse a layer that inflates past ${RATIO_FLOOR / 1024 ** 2} MiB to more than n times its compressed size (default ${DEFAULT_LAYER_LIMITS.maxRatio}, 0 for no ratio limit, or $${ENV_MAX_LAYER_RATIO})`,
    );
}

function defaultKeyId(d: ImageRef): string {
  const name =
    d.kind === 'oci'
      ? `${d.dir.split('/').filter(Boolean).pop()}-${d.tag}`
      : d.kind === 'docker'
        ? `${d.ref.repository.split('/').pop()}-${d.ref.tag ?? 'latest'}`
        : 'archive';
  return name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
}

export function convertCommand(): Command {
  const convert = new Command('convert')
    .description("Encrypt an image's layers (containers/ocicrypt format) and record what the workload must run")
    .argument('<src>', 'oci:DIR[:TAG] or docker://HOST[:PORT]/REPO[:TAG|@DIGEST]')
    .argument('<dst>', 'oci:DIR:TAG or docker://HOST[:PORT]/REPO:TAG')
    .option('--encrypt-layers <which>', 'all, none, or a comma-separated list of layer indices', 'all')
    .option('--recipient <jwe:FILE>', 'also encrypt to this public key, as skopeo does (repeatable)', collect, [])
    .option(
      '--server <url>',
      'store the key-encryption key and the reference values on this Cloak server (default $CLOAK_SERVER)',
    )
    .option('--token <token>', 'admin token (default $CLOAK_TOKEN)')
    .option(
      '--key-id <id>',
      'the KBS resource default/key/<id> that holds the key-encryption key (default: from the image name)',
    );
  return registryFlags(convert)
    .option('--json', 'print a summary as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  cloak convert oci:./app:v1 oci:./app-enc:v1 --server http://127.0.0.1:8080\n  cloak convert docker://registry.example/app:v1 docker://registry.example/app:v1-enc --server https://cloak.example\n  cloak convert oci:./app:v1 oci:./app-enc:v1 --recipient jwe:pub.pem --encrypt-layers 1,2',
    )
    .action(
      action(
        async (
          src: string,
          dst: string,
          o: {
            encryptLayers: string;
            recipient: string[];
            server?: string;
            token?: string;
            keyId?: string;
            json?: boolean;
          } & RegistryFlags,
        ) => {
          const { encryptImage, parseImageRef, openImage, imageTarget } = await import('../oci/index.ts');
          const s = parseImageRef(src);
          const d = parseImageRef(dst);
          const reg = await registryOptions(o);
          const layers =
            o.encryptLayers === 'all'
              ? ('all' as const)
              : o.encryptLayers === 'none'
                ? []
                : o.encryptLayers.split(',').map((x) => {
                    const n = Number(x);
                    if (!Number.isInteger(n) || n < 0)
                      throw new CloakError('USAGE_LAYERS', `--encrypt-layers: "${x}" is not a layer index`);
                    return n;
                  });
          const server = o.server ?? process.env.CLOAK_SERVER;
          const client = server ? clientFrom({ server, token: o.token }) : undefined;
          const keyId = o.keyId ?? defaultKeyId(d);
          if (!isResourcePath(`default/key/${keyId}`))
            throw new CloakError(
              'USAGE_KEY_ID',
              `--key-id "${keyId.slice(0, 80)}" may hold only letters, digits, '.', '_' and '-' (and is not . or ..)`,
            );
          const kek = client ? randomBytes(32) : undefined;
          const recipients = o.recipient.map(recipientKey);
          if (!kek && recipients.length === 0 && layers !== 'all' && layers.length === 0)
            say('note: --encrypt-layers none: the image is copied unencrypted');
          // The KEK is stored before any layer is written under it, so no image can exist whose key is lost.
          if (client && kek) await storeKeyEncryptionKey(client, keyId, kek);
          const pull = progress(`pull ${src}`, 0, !o.json);
          const source = await openImage(s, {
            ...reg,
            onBlob: (b) => pull.step(b.size, `${b.digest.slice(0, 19)} ${b.size} bytes`),
          });
          pull.end();
          const target = imageTarget(d, {
            ...reg,
            mountFrom:
              s.kind === 'docker' && d.kind === 'docker' && s.ref.registry === d.ref.registry
                ? s.ref.repository
                : undefined,
          });
          let result, out;
          try {
            if (!o.json) say(`${src}: pulled; encrypting layers`);
            result = await encryptImage(source.layout, source.tag, target.layout, target.tag, {
              recipients,
              layers,
              ...(kek ? { attestationAgent: { kek, kid: kbsUri(`default/key/${keyId}`) } } : {}),
            });
            out = target.layout.resolve(target.tag);
            const push = progress(`push ${dst}`, out.manifest.layers.length + 1, !o.json && d.kind === 'docker');
            target.onBlob((b, how) => push.step(b.size, `${b.digest.slice(0, 19)} ${how}`));
            const pushed = await target.commit();
            push.end();
            if (pushed && !o.json) say(`${dst}: pushed (${pushed})`);
          } finally {
            source.cleanup();
            target.cleanup();
          }
          const refs: ReferenceValues = {
            image: dst,
            manifestDigest: result.manifest.digest,
            configDigest: out.manifest.config.digest,
            layers: out.manifest.layers.map((l) => l.digest),
          };
          if (client) await recordReferenceValues(client, keyId, refs);
          const summary = {
            ...refs,
            diffIds: out.config.rootfs?.diff_ids ?? [],
            encryptedLayers: result.encrypted,
            keyResource: kek ? `default/key/${keyId}` : null,
          };
          if (o.json) printJson(summary);
          say(
            `${dst}: ${result.encrypted} of ${out.manifest.layers.length} layer(s) encrypted; manifest ${result.manifest.digest}${kek ? `; key in default/key/${keyId}` : ''}`,
          );
        },
      ),
    );
}
