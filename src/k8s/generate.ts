import { CloakError } from '../lib/index.ts';
import { isWorkloadName, type ManifestDocument, type WorkloadDocument } from '../manifest/index.ts';
import { workloadInitData, initDataDigestHex, encodeInitData, INITDATA_ANNOTATION } from './initdata.ts';
import { DEFAULT_AGENT_IMAGE, DEFAULT_PLATFORM, DEFAULT_RUNTIME_CLASS } from './defaults.ts';
import { platformNamed, RETIRED_RUNTIME_CLASSES } from './platforms.ts';
import { guestImageReference } from './guest-image.ts';
import { pin } from './pin.ts';
import { agentContainer, AGENT_CONTAINER, SECRETS_PATH, SECRETS_VOLUME } from './agent-container.ts';
import { applySealedEnv, type SealingKey } from './sealed-env.ts';
import { agentPolicy } from './agent-policy.ts';
import { describeOptIns, optInsRecord, readOptIns, type ImageConfig, type ImageConfigSource } from './policy/index.ts';

export { DEFAULT_AGENT_IMAGE, DEFAULT_PLATFORM, DEFAULT_RUNTIME_CLASS };

type Obj = Record<string, any>;

export interface GenerateOptions {
  /** Where the pods run (platforms.ts): runtime class, init-data digest algorithm, the TEEs the manifest allows. Default azure. */
  platform?: string;
  /** Overrides the platform's runtime class. */
  runtimeClass?: string;
  /** Overrides the platform's TEEs in the manifest (e.g. only az-snp-vtpm). */
  tees?: string[];
  /** PEM of the server's TLS certificate, pinned in the init-data's aa.toml and cdh.toml. */
  serverCert?: string;
  agentImage?: string;
  server?: string;
  /** Resolves `repo:tag` to `sha256:…` (through the registry); images already pinned are kept. */
  resolveDigest?: (image: string) => Promise<string>;
  /** The manifest document to read workload secrets from and write workloads into (checked: `checkManifestDocument`). */
  manifest?: ManifestDocument;
  /** Image configs (entrypoint, env, user, …) for the agent policy, by pinned digest. */
  imageConfigs?: ImageConfigSource;
  /** Signs the secrets the manifest delivers `sealed` (CoCo sealed secrets in env values). */
  sealing?: SealingKey;
}

/**
 * The config of Cloak's own agent image (`npm run image`, scripts/image/assemble.ts), for when no source
 * has it: the versions its Node base image sets are matched by pattern.
 */
const AGENT_IMAGE_CONFIG: ImageConfig = {
  Entrypoint: ['/usr/local/bin/node', '/opt/cloak/dist/cloak.js'],
  WorkingDir: '/opt/cloak',
  User: '65532:65532',
  Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production', 'HOME=/home/nonroot'],
};
const AGENT_ENV_PATTERNS = {
  NODE_VERSION: '[0-9]+\\.[0-9]+\\.[0-9]+',
  YARN_VERSION: '[0-9]+\\.[0-9]+\\.[0-9]+',
};

export interface GenerateResult {
  docs: Obj[];
  manifest: ManifestDocument;
  changes: string[];
  notes: string[];
}

/** Where the pod template of each workload kind lives. */
function podTemplate(doc: Obj): { meta: Obj; spec: Obj } | undefined {
  const t = (o: Obj | undefined) => (o ? { meta: (o.metadata ??= {}), spec: (o.spec ??= {}) } : undefined);
  switch (doc.kind) {
    case 'Pod':
      return t(doc);
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return t(doc.spec?.template);
    case 'CronJob':
      return t(doc.spec?.jobTemplate?.spec?.template);
    default:
      return undefined;
  }
}

/**
 * Turns Kubernetes workloads into confidential ones: runtime class, the Cloak
 * agent init container, a memory-backed secrets volume mounted read-only
 * into every app container, images pinned to digests, the Kata agent
 * policy that locks the host out of the pod, and the pod's init-data
 * carrying it (whose digest becomes the workload's reference value in the
 * manifest). Other kinds pass through untouched. Idempotent.
 */
export async function generate(docs: Obj[], opts: GenerateOptions = {}): Promise<GenerateResult> {
  const out = structuredClone(docs);
  const manifest: ManifestDocument = structuredClone(
    opts.manifest ?? { version: 1, owners: { approvals: 1, users: [] }, secrets: [], workloads: [] },
  );
  const workloads = (manifest.workloads ??= []);
  const secretDefs = (manifest.secrets ??= []);
  const changes: string[] = [];
  const notes: string[] = [];
  const platform = platformNamed(opts.platform ?? DEFAULT_PLATFORM);
  const runtimeClass = opts.runtimeClass ?? platform.runtimeClass;
  const tees = opts.tees ?? platform.tees;
  const retired = RETIRED_RUNTIME_CLASSES[runtimeClass];
  if (retired) notes.push(`warning: ${retired}`);
  const unusual = tees.filter((t) => !platform.tees.includes(t));
  if (unusual.length)
    notes.push(
      `the manifest allows TEE ${unusual.join(', ')}, which platform ${platform.name} does not produce (it produces ${platform.tees.join(', ')})`,
    );
  let generated = 0;
  for (const doc of out) {
    const tpl = podTemplate(doc);
    if (!tpl) continue;
    const name = String(doc.metadata?.name ?? '');
    if (!isWorkloadName(name)) throw new CloakError('K8S_NAME_INVALID', `${doc.kind} has no valid metadata.name`);
    const where = `${doc.kind}/${name}`;
    const spec = tpl.spec;
    const containers: Obj[] = spec.containers ?? [];
    if (containers.length === 0) throw new CloakError('K8S_NO_CONTAINERS', `${where} has no containers`);

    const digests: string[] = [];
    const pinnedDigest = new Map<Obj, string>();
    for (const c of [...containers, ...(spec.initContainers ?? []).filter((c: Obj) => c.name !== AGENT_CONTAINER)]) {
      const pinned = await pin(String(c.image ?? ''), opts.resolveDigest, where);
      if (pinned.image !== c.image) changes.push(`${where}: pinned ${c.image} → ${pinned.image}`);
      c.image = pinned.image;
      digests.push(pinned.digest);
      pinnedDigest.set(c, pinned.digest);
    }

    let entry: WorkloadDocument | undefined = workloads.find((w) => w.name === name);
    if (!entry) {
      entry = { name, secrets: [] };
      workloads.push(entry);
      changes.push(`manifest: added workload ${name}`);
    }
    const secrets = (entry.secrets ?? []).map((s) => {
      const def = secretDefs.find((x) => x.name === s.name);
      if (!def)
        throw new CloakError(
          'K8S_MANIFEST_SECRET',
          `manifest workload ${name} names secret "${s.name}", which manifest.secrets does not define`,
        );
      if (s.env && !s.sealed)
        notes.push(
          `${where}: secret ${s.name} is delivered as variable ${s.env} in ${SECRETS_PATH}/cloak.env (the app reads it there)`,
        );
      if (s.sealed && !s.env)
        throw new CloakError(
          'K8S_MANIFEST_SECRET',
          `manifest workload ${name}: secret "${s.name}" is sealed, so it must be delivered as env`,
        );
      return { resource: def.resource, file: s.file, env: s.env, sealed: s.sealed === true };
    });
    const sealed = secrets.filter((s) => s.sealed).map((s) => ({ resource: s.resource, env: s.env! }));
    const agentSecrets = secrets.filter((s) => !s.sealed).map(({ resource, file, env }) => ({ resource, file, env }));
    // Sealed variables alone need no init container: the guest unseals them.
    const withAgent = agentSecrets.length > 0 || sealed.length === 0;

    generated++;
    if (spec.runtimeClassName !== runtimeClass) {
      spec.runtimeClassName = runtimeClass;
      changes.push(`${where}: runtimeClassName ${spec.runtimeClassName}`);
    }
    if (JSON.stringify(entry.tees ?? []) !== JSON.stringify(tees)) {
      entry.tees = [...tees];
      changes.push(`manifest: workload ${name} tees ${tees.join(', ')} (platform ${platform.name})`);
    }
    const annotations = (tpl.meta.annotations ??= {});
    spec.volumes = (spec.volumes ?? []).filter((v: Obj) => v.name !== SECRETS_VOLUME);
    const agentImage = opts.agentImage ?? DEFAULT_AGENT_IMAGE;
    const agent = agentContainer(agentImage, agentSecrets);
    const hadAgent = (spec.initContainers ?? []).some((c: Obj) => c.name === AGENT_CONTAINER);
    const inits: Obj[] = (spec.initContainers ?? []).filter((c: Obj) => c.name !== AGENT_CONTAINER);
    if (withAgent !== hadAgent)
      changes.push(`${where}: ${withAgent ? 'added' : 'removed'} init container ${AGENT_CONTAINER}`);
    if (withAgent) {
      spec.volumes.push({ name: SECRETS_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } });
      spec.initContainers = [agent, ...inits];
    } else if (inits.length) spec.initContainers = inits;
    else delete spec.initContainers;
    if (!spec.volumes.length) delete spec.volumes;
    for (const c of containers) {
      c.volumeMounts = (c.volumeMounts ?? []).filter((m: Obj) => m.name !== SECRETS_VOLUME);
      if (withAgent) c.volumeMounts.push({ name: SECRETS_VOLUME, mountPath: SECRETS_PATH, readOnly: true });
      else if (!c.volumeMounts.length) delete c.volumeMounts;
    }
    changes.push(...(await applySealedEnv(containers, sealed, opts.sealing, where)));
    if (sealed.length && opts.sealing && !(entry.keys ?? []).includes(opts.sealing.kid)) {
      entry.keys = [...(entry.keys ?? []), opts.sealing.kid];
      changes.push(
        `manifest: workload ${name} may read the sealing key ${opts.sealing.kid} (its data hub verifies sealed secrets with it)`,
      );
    }
    if (sealed.length)
      notes.push(
        `${where}: ${sealed.map((s) => s.env).join(', ')} carry sealed secrets, which the guest unseals before the app starts; store the public key at ${opts.sealing?.kid ?? 'the sealing kid'} (cloak resource set … --file KEY.pub)`,
      );

    // The Kata agent policy of the pod as it will run, with the workload's opt-ins.
    const optIns = readOptIns(
      entry,
      annotations,
      [...(spec.initContainers ?? []), ...containers].map((c: Obj) => String(c.name)),
      where,
    );
    const record = optInsRecord(optIns);
    if (JSON.stringify(record) !== JSON.stringify(entry.agentPolicy)) {
      if (record) entry.agentPolicy = record;
      else delete entry.agentPolicy;
      changes.push(`manifest: workload ${name} agent policy opt-ins ${record ? JSON.stringify(record) : 'none'}`);
    }
    notes.push(...describeOptIns(optIns, where));
    const agentDigest = /@(sha256:[0-9a-f]{64})$/.exec(agentImage)?.[1];
    if (!agentDigest)
      notes.push(
        `${where}: the agent policy pins the agent image by its tag ${agentImage}; give --agent-image …@sha256:… to pin it by digest`,
      );
    const agentConfig = (agentDigest && (await opts.imageConfigs?.(agentImage, agentDigest))) || AGENT_IMAGE_CONFIG;
    const noConfigs: ImageConfigSource = async () => undefined;
    const policy = await agentPolicy({
      kind: doc.kind,
      meta: doc.metadata,
      pod: spec,
      where,
      optIns,
      configs: opts.imageConfigs ?? noConfigs,
      containers: [
        ...(withAgent
          ? [
              {
                spec: agent,
                image: agentImage,
                digest: agentDigest,
                config: agentConfig,
                envPatterns: AGENT_ENV_PATTERNS,
              },
            ]
          : []),
        ...[...inits, ...containers].map((c: Obj) => ({
          spec: c,
          image: String(c.image),
          digest: pinnedDigest.get(c),
        })),
      ],
    });

    const imageRefs = [agentImage, ...[...inits, ...containers].map((c: Obj) => String(c.image))].map(
      guestImageReference,
    );
    const initData = workloadInitData({
      name,
      server: opts.server,
      serverCert: opts.serverCert,
      images: [...new Set(digests)],
      secrets: agentSecrets,
      policy: policy.text,
      imageRefs,
      algorithm: platform.algorithm,
    });
    const digest = initDataDigestHex(initData);
    entry.images = [...new Set(digests)].sort();
    entry.referenceValues = { ...(entry.referenceValues ?? {}), initData: [digest] };
    const encoded = encodeInitData(initData);
    if (annotations[INITDATA_ANNOTATION] !== encoded) {
      annotations[INITDATA_ANNOTATION] = encoded;
      changes.push(
        `${where}: init-data annotation with agent policy (${platform.algorithm} ${digest.slice(0, 16)}…, ${encoded.length} bytes encoded)`,
      );
    }
  }
  if (generated) {
    notes.push(
      `platform ${platform.name}: runtime class ${runtimeClass}, init-data digest ${platform.algorithm} in ${platform.binding}, manifest TEEs ${tees.join(', ')}`,
    );
    if (opts.server?.startsWith('https://') && !opts.serverCert)
      notes.push(
        `warning: no server certificate is pinned; the guest checks ${opts.server} against its built-in CA roots only`,
      );
    if (opts.server?.startsWith('http://'))
      notes.push(
        `warning: the guest talks to ${opts.server} in plain HTTP; that is for a server on the same machine only`,
      );
    if (!opts.server)
      notes.push(
        'no --server: the init-data carries no aa.toml/cdh.toml, so the guest knows no KBS and enforces no image policy',
      );
  }
  return { docs: out, manifest, changes, notes };
}
