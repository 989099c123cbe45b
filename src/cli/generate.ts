import { Command } from 'commander';
import { readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CloakError } from '../lib/errors.ts';
import { action, printJson, say } from './output.ts';
import { kubernetesImageRef, registryResolver } from './resolver.ts';
import { DEFAULT_RUNTIME_CLASS } from '../k8s/defaults.ts';

/** The agent image pinned to its digest (so the agent policy and the init-data pin it); there is no published default. */
async function pinAgentImage(ref: string | undefined, resolveDigest: (image: string) => Promise<string>): Promise<string> {
  if (!ref) {
    throw new CloakError('USAGE_AGENT_IMAGE', 'give the Cloak agent image: --agent-image REGISTRY/cloak:TAG (or CLOAK_AGENT_IMAGE). '
      + 'Build and push it from a checkout with `npm run image -- --push docker://REGISTRY/cloak:TAG` (no Docker needed); see README "Cloak\'s own image"');
  }
  const { pin } = await import('../k8s/index.ts');
  const pinned = await pin(ref, resolveDigest, '--agent-image');
  if (pinned.image !== ref) say(`agent image ${ref} → ${pinned.image}`);
  return pinned.image;
}


async function readInputs(src: string): Promise<Array<{ name: string; docs: Record<string, any>[] }>> {
  const { parseAllDocuments } = await import('yaml');
  const files = src === '-' ? ['-'] : statSync(src).isDirectory() ? readdirSync(src).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(src, f)) : [src];
  return files.map((f) => {
    const text = readFileSync(f === '-' ? 0 : f, 'utf8');
    const docs = parseAllDocuments(text).map((d) => {
      if (d.errors.length) throw new CloakError('K8S_YAML_INVALID', `${f}: ${d.errors[0]!.message.split('\n')[0]}`);
      return d.toJSON();
    }).filter((d) => d && typeof d === 'object');
    return { name: f === '-' ? 'stdin.yaml' : basename(f), docs };
  });
}

export function generateCommand(): Command {
  return new Command('generate')
    .description('Make Kubernetes workloads confidential: agent init container, memory volume for secrets, runtime class, pinned images, Kata agent policy, init-data; update the manifest')
    .argument('[src]', 'a YAML file, a directory of them, or - for stdin')
    .option('-f, --file <src>', 'same as SRC')
    .option('--manifest <file>', 'the Cloak manifest to read workload secrets from and update in place')
    .option('--runtime-class <name>', 'runtime class of the TEE pods', DEFAULT_RUNTIME_CLASS)
    .option('--server <url>', 'the Cloak server the agent attests to (written into the init-data)', process.env.CLOAK_SERVER)
    .option('--agent-image <ref>', 'the Cloak agent image, as pushed by `npm run image -- --push docker://REF` (pinned to its digest here; env CLOAK_AGENT_IMAGE)', process.env.CLOAK_AGENT_IMAGE)
    .option('-o, --out <dir>', 'write the generated files here (default: stdout)')
    .option('--tls-verify <bool>', 'verify the registry TLS certificate when resolving tags and reading image configs', 'true')
    .option('--image-configs <dir>', 'offline image configs for the agent policy: sha256-<hex>.json per pinned digest (tried before the registry)')
    .option('--offline', 'read image configs only from --image-configs, never from the registry')
    .option('--json', 'print the list of changes as JSON')
    .addHelpText('after', '\nExample:\n  cloak generate deploy.yaml --manifest manifest.yaml --server https://cloak.example:8080 -o confidential/\n  kubectl kustomize app/ | cloak generate - --manifest manifest.yaml | kubectl apply -f -\n  cloak generate app.yaml --image-configs configs/ --offline -o confidential/   # air-gapped\n\nThe Kata agent policy (init-data policy.rego) denies the host exec, logs, stdin and every\ncontainer the pod does not declare. Opt in per pod with the annotations\npolicy.cloak.dev/allow-logs: "true", policy.cloak.dev/allow-stdin: "true",\npolicy.cloak.dev/allow-exec: \'[{"container":"app","command":["cat","/tmp/ready"]}]\'\nor per workload in the manifest (agentPolicy: {logs, stdin, exec}).')
    .action(action(async (srcArg: string | undefined, o: { file?: string; manifest?: string; runtimeClass: string; server?: string; agentImage?: string; out?: string; tlsVerify: string; imageConfigs?: string; offline?: boolean; json?: boolean }) => {
      const src = o.file ?? srcArg;
      if (!src) throw new CloakError('USAGE_NO_INPUT', 'give the Kubernetes YAML: cloak generate FILE|DIR|-');
      const { parse: parseYaml, stringify } = await import('yaml');
      const { generate, directoryConfigSource, registryConfigSource, firstConfigSource } = await import('../k8s/index.ts');
      const inputs = await readInputs(src);
      const { checkManifestDocument } = await import('../manifest/index.ts');
      const given: unknown = o.manifest ? parseYaml(readFileSync(o.manifest, 'utf8')) : undefined;
      let manifest = given == null ? undefined : checkManifestDocument(given, o.manifest);
      const resolveDigest = registryResolver({ tlsVerify: o.tlsVerify !== 'false' });
      const agentImage = await pinAgentImage(o.agentImage, resolveDigest);
      if (o.offline && !o.imageConfigs) throw new CloakError('USAGE_OFFLINE', '--offline needs --image-configs DIR');
      const imageConfigs = firstConfigSource(
        o.imageConfigs ? directoryConfigSource(o.imageConfigs) : undefined,
        o.offline ? undefined : registryConfigSource({ tlsVerify: o.tlsVerify !== 'false', toDockerRef: kubernetesImageRef }),
      );
      // Cloak knows its own image's config: when the registry cannot serve the agent's, the policy assumes the one `npm run image` writes.
      const configs: typeof imageConfigs = async (image, digest) => {
        try { return await imageConfigs(image, digest); } catch (e) {
          if (image !== agentImage) throw e;
          say(`note: ${(e as Error).message}; the agent policy assumes the config \`npm run image\` writes`);
          return undefined;
        }
      };
      const changes: string[] = [];
      const outputs: Array<{ name: string; text: string }> = [];
      for (const input of inputs) {
        const r = await generate(input.docs, { runtimeClass: o.runtimeClass, agentImage, server: o.server, manifest, resolveDigest, imageConfigs: configs });
        manifest = r.manifest;
        changes.push(...r.changes.map((c) => `${input.name}: ${c}`));
        for (const n of r.notes) say(`note: ${n}`);
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
    }));
}
