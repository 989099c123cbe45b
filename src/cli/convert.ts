import { Command } from 'commander';
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CloakError } from '../lib/index.ts';
import { OciLayout, parseOciReference, encryptImage } from '../oci/index.ts';
import { clientFrom } from './client.ts';
import { action, printJson, say } from './output.ts';

const collect = (v: string, all: string[]) => [...all, v];

function recipientKey(spec: string): KeyObject {
  const m = /^jwe:(.+)$/.exec(spec);
  if (!m) throw new CloakError('USAGE_RECIPIENT', `recipient "${spec}" must be jwe:PUBKEY.pem`);
  try { return createPublicKey(readFileSync(m[1]!)); } catch { throw new CloakError('USAGE_RECIPIENT', `cannot read a public key (PEM) from ${m[1]}`); }
}

export function convertCommand(): Command {
  return new Command('convert')
    .description('Encrypt an image\'s layers (containers/ocicrypt format) and record what the workload must run')
    .argument('<src>', 'oci:DIR[:TAG]')
    .argument('<dst>', 'oci:DIR:TAG')
    .option('--encrypt-layers <which>', 'all, none, or a comma-separated list of layer indices', 'all')
    .option('--recipient <jwe:FILE>', 'also encrypt to this public key, as skopeo does (repeatable)', collect, [])
    .option('--server <url>', 'store the key-encryption key and the reference values on this Cloak server (default $CLOAK_SERVER)')
    .option('--token <token>', 'admin token (default $CLOAK_TOKEN)')
    .option('--key-id <id>', 'the KBS resource default/key/<id> that holds the key-encryption key (default: from the image name)')
    .option('--json', 'print a summary as JSON')
    .addHelpText('after', '\nExample:\n  cloak convert oci:./app:v1 oci:./app-enc:v1 --server http://127.0.0.1:8080\n  cloak convert oci:./app:v1 oci:./app-enc:v1 --recipient jwe:pub.pem --encrypt-layers 1,2')
    .action(action(async (src: string, dst: string, o: { encryptLayers: string; recipient: string[]; server?: string; token?: string; keyId?: string; json?: boolean }) => {
      const s = parseOciReference(src);
      const d = parseOciReference(dst);
      if (!d.tag) throw new CloakError('USAGE_DST', 'the destination needs a tag: oci:DIR:TAG');
      const layers = o.encryptLayers === 'all' ? 'all' as const : o.encryptLayers === 'none' ? [] : o.encryptLayers.split(',').map((x) => {
        const n = Number(x);
        if (!Number.isInteger(n) || n < 0) throw new CloakError('USAGE_LAYERS', `--encrypt-layers: "${x}" is not a layer index`);
        return n;
      });
      const server = o.server ?? process.env.CLOAK_SERVER;
      const client = server ? clientFrom({ server, token: o.token }) : undefined;
      const keyId = o.keyId ?? `${d.dir.split('/').filter(Boolean).pop()}-${d.tag}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
      const kek = client ? randomBytes(32) : undefined;
      const source = OciLayout.open(s.dir);
      const recipients = o.recipient.map(recipientKey);
      if (!kek && recipients.length === 0 && layers !== 'all' && layers.length === 0) say('note: --encrypt-layers none: the image is copied unencrypted');
      // The KEK is stored before any layer is written under it, so no image can exist whose key is lost.
      if (client && kek) await client.request('PUT', `/api/v1/resources/default/key/${keyId}`, { value: kek.toString('base64') });
      const result = await encryptImage(source, s.tag, OciLayout.create(d.dir), d.tag, {
        recipients, layers, ...(kek ? { attestationAgent: { kek, kid: `kbs:///default/key/${keyId}` } } : {}),
      });
      const out = OciLayout.open(d.dir).resolve(d.tag);
      const refs = { image: dst, manifestDigest: result.manifest.digest, configDigest: out.manifest.config.digest, layers: out.manifest.layers.map((l) => l.digest), diffIds: out.config.rootfs?.diff_ids ?? [] };
      if (client) await client.request('PUT', `/api/v1/reference-values/${encodeURIComponent(keyId)}`, refs);
      const summary = { ...refs, encryptedLayers: result.encrypted, keyResource: kek ? `default/key/${keyId}` : null };
      if (o.json) printJson(summary);
      say(`${dst}: ${result.encrypted} of ${out.manifest.layers.length} layer(s) encrypted; manifest ${result.manifest.digest}${kek ? `; key in default/key/${keyId}` : ''}`);
    }));
}
