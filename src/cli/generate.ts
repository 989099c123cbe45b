import { Command } from 'commander';
import { readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CloakError } from '../lib/errors.ts';
import { action, printJson, say } from './output.ts';
import { kubernetesImageRef, registryResolver } from './resolver.ts';
import { DEFAULT_PLATFORM } from '../k8s/defaults.ts';
import { PLATFORMS, platformNamed } from '../k8s/platforms.ts';
import { sealingFrom } from './secret.ts';
/** The agent image pinned to its digest (so the agent policy and the init-data pin it); there is no published default. */
async function pinAgentImage(
  ref: string | undefined,
  resolveDigest: (image: string) => Promise<string>,
): Promise<string> {
  if (!ref) {
    throw new CloakError(
      'USAGE_AGENT_IMAGE',
      'give the Cloak agent image: --agent-image REGISTRY/cloak:TAG (or CLOAK_AGENT_IMAGE). ' +
        'Build and push it from a checkout with `npm run image -- --push docker://REGISTRY/cloak:TAG` (no Docker needed); see README "Cloak\'s own image"',
    );
  }
  const { pin } = await import('../k8s/index.ts');
  const pinned = await pin(ref, resolveDigest, '--agent-image');
  if (pinned.image !== ref) say(`agent image ${ref} → ${pinned.image}`);
  return pinned.image;
}

async function readInputs(src: string): Promise<Array<{ name: string; docs: Record<string, any>[] }>> {
  const { parseAllDocuments } = await import('yaml');
  const files =
    src === '-'
      ? ['-']
      : statSync(src).isDirectory()
        ? readdirSync(src)
            .filter((f) => /\.ya?ml$/.test(f))
            .sort()
            .map((f) => join(src, f))
        : [src];
  return files.map((f) => {
    const text = readFileSync(f === '-' ? 0 : f, 'utf8');
    const docs = parseAllDocuments(text)
      .map((d) => {
        if (d.errors.length) throw new CloakError('K8S_YAML_INVALID', `${f}: ${d.errors[0]!.message.split('\n')[0]}`);
        return d.toJSON();
      })
      .filter((d) => d && typeof d === 'object');
    return { name: f === '-' ? 'stdin.yaml' : basename(f), docs };
  });
}

export function generateCommand(): Command {
  return new Command('generate')
    .description(
      'Make Kubernetes workloads confidential: agent init container, memory volume for secrets, runtime class, pinned images, Kata agent policy, init-data; update the manifest',
    )
    .argument('[src]', 'a YAML file, a directory of them, or - for stdin')
    .option('-f, --file <src>', 'same as SRC')
    .option('--manifest <file>', 'the Cloak manifest to read workload secrets from and update in place')
    .option(
      '--platform <name>',
      `where the pods run: ${Object.keys(PLATFORMS).join(', ')} (picks runtime class, init-data digest, manifest TEEs)`,
      DEFAULT_PLATFORM,
    )
    .option('--runtime-class <name>', "runtime class of the TEE pods (default: the platform's)")
    .option('--tee <name...>', "the TEEs the manifest allows the workloads (default: the platform's evidence)")
    .option(
      '--server <url>',
      'the Cloak server the guest attests to (written into the init-data)',
      process.env.CLOAK_SERVER,
    )
    .option(
      '--server-fingerprint <sha256:hex>',
      "fetch the https server's certificate and pin it if its fingerprint is this one (cloak serve prints it)",
    )
    .option(
      '--server-cert <pem>',
      "pin this certificate (the server's self-signed one, or the CA that issued it) instead of fetching it",
    )
    .option(
      '--agent-image <ref>',
      'the Cloak agent image, as pushed by `npm run image -- --push docker://REF` (pinned to its digest here; env CLOAK_AGENT_IMAGE)',
      process.env.CLOAK_AGENT_IMAGE,
    )
    .option('-o, --out <dir>', 'write the generated files here (default: stdout)')
    .option(
      '--tls-verify <bool>',
      'verify the registry TLS certificate when resolving tags and reading image configs',
      'true',
    )
    .option(
      '--image-configs <dir>',
      'offline image configs for the agent policy: sha256-<hex>.json per pinned digest (tried before the registry)',
    )
    .option('--offline', 'read image configs only from --image-configs, never from the registry')
    .option(
      '--sealing-key <file>',
      'private key (JWK, cloak secret keygen) for the secrets the manifest delivers sealed: true',
    )
    .option(
      '--sealing-kid <repo/type/tag>',
      'the resource holding the public sealing key (the guest verifies sealed secrets with it)',
    )
    .option('--json', 'print the list of changes as JSON')
    .addHelpText(
      'after',
      '\nPlatforms:\n' +
        Object.values(PLATFORMS)
          .map(
            (p) =>
              `  ${p.name.padEnd(6)} ${p.description}; runtime class ${p.runtimeClass}, init-data ${p.algorithm} in ${p.binding}, evidence ${p.tees.join(' or ')}`,
          )
          .join('\n') +
        '\n(The retired AKS preview class kata-cc-isolation ignores init-data: --runtime-class kata-cc-isolation warns.)\n\nThe init-data pins the server\'s certificate (aa.toml, cdh.toml), so the pod trusts that server only.\n\nExample (the agent image from `npm run image -- --push docker://REGISTRY/cloak:TAG`):\n  export CLOAK_AGENT_IMAGE=REGISTRY/cloak:TAG\n  cloak generate deploy.yaml --manifest manifest.yaml --server https://cloak.example:8443 --server-fingerprint sha256:… -o confidential/\n  cloak generate deploy.yaml --platform tdx --server https://cloak.example:8443 --server-cert cloak-ca.pem -o confidential/\n  kubectl kustomize app/ | cloak generate - --manifest manifest.yaml | kubectl apply -f -\n  cloak generate app.yaml --image-configs configs/ --offline -o confidential/   # air-gapped\n\nThe Kata agent policy (init-data policy.rego) denies the host exec, logs, stdin and every\ncontainer the pod does not declare. Opt in per pod with the annotations\npolicy.cloak.dev/allow-logs: "true", policy.cloak.dev/allow-stdin: "true",\npolicy.cloak.dev/allow-exec: \'[{"container":"app","command":["cat","/tmp/ready"]}]\'\nor per workload in the manifest (agentPolicy: {logs, stdin, exec}).',
    )
    .action(
      action(
        async (
          srcArg: string | undefined,
          o: {
            file?: string;
            manifest?: string;
            platform: string;
            runtimeClass?: string;
            tee?: string[];
            server?: string;
            serverFingerprint?: string;
            serverCert?: string;
            agentImage?: string;
            out?: string;
            tlsVerify: string;
            imageConfigs?: string;
            offline?: boolean;
            sealingKey?: string;
            sealingKid?: string;
            json?: boolean;
          },
        ) => {
          const src = o.file ?? srcArg;
          if (!src) throw new CloakError('USAGE_NO_INPUT', 'give the Kubernetes YAML: cloak generate FILE|DIR|-');
          platformNamed(o.platform);
          const { pinnedServerCert } = await import('./server-cert.ts');
          const serverCert = await pinnedServerCert(o.server, {
            certFile: o.serverCert,
            fingerprint: o.serverFingerprint,
          });
          const { parse: parseYaml, stringify } = await import('yaml');
          const { generate, directoryConfigSource, registryConfigSource, firstConfigSource } =
            await import('../k8s/index.ts');
          const inputs = await readInputs(src);
          const { checkManifestDocument } = await import('../manifest/index.ts');
          const given: unknown = o.manifest ? parseYaml(readFileSync(o.manifest, 'utf8')) : undefined;
          let manifest = given == null ? undefined : checkManifestDocument(given, o.manifest);
          const resolveDigest = registryResolver({ tlsVerify: o.tlsVerify !== 'false' });
          const agentImage = await pinAgentImage(o.agentImage, resolveDigest);
          if (o.offline && !o.imageConfigs)
            throw new CloakError('USAGE_OFFLINE', '--offline needs --image-configs DIR');
          const imageConfigs = firstConfigSource(
            o.imageConfigs ? directoryConfigSource(o.imageConfigs) : undefined,
            o.offline
              ? undefined
              : registryConfigSource({ tlsVerify: o.tlsVerify !== 'false', toDockerRef: kubernetesImageRef }),
          );
          // Cloak knows its own image's config: when the registry cannot serve the agent's, the policy assumes the one `npm run image` writes.
          const configs: typeof imageConfigs = async (image, digest) => {
            try {
              return await imageConfigs(image, digest);
            } catch (e) {
              if (image !== agentImage) throw e;
              say(`note: ${(e as Error).message}; the agent policy assumes the config \`npm run image\` writes`);
              return undefined;
            }
          };
          const sealing = sealingFrom(o);
          const changes: string[] = [];
          const outputs: Array<{ name: string; text: string }> = [];
          for (const input of inputs) {
            const r = await generate(input.docs, {
              platform: o.platform,
              runtimeClass: o.runtimeClass,
              tees: o.tee,
              agentImage,
              server: o.server,
              serverCert,
              manifest,
              resolveDigest,
              imageConfigs: configs,
              sealing,
            });
            manifest = r.manifest;
            changes.push(...r.changes.map((c) => `${input.name}: ${c}`));
            for (const n of r.notes) say(n.startsWith('warning: ') ? n : `note: ${n}`);
            outputs.push({ name: input.name, text: r.docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n') });
          }
          if (o.out) {
            mkdirSync(o.out, { recursive: true });
            for (const f of outputs) writeFileSync(join(o.out, f.name), f.text);
          } else if (!o.json) {
            process.stdout.write(outputs.map((f) => f.text).join('---\n'));
          }
          if (o.manifest) writeFileSync(o.manifest, stringify(manifest, { lineWidth: 0 }));
          else if (o.out) writeFileSync(join(o.out, 'cloak-manifest.yaml'), stringify(manifest, { lineWidth: 0 }));
          if (o.json) printJson({ changes });
          for (const c of changes) say(c);
          say(changes.length ? `${changes.length} change(s)` : 'nothing to change');
        },
      ),
    );
}
