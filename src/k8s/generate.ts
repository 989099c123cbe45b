import { CloakError } from '../lib/index.ts';
import { isWorkloadName, type ManifestDocument, type WorkloadDocument } from '../manifest/index.ts';
import { workloadInitData, initDataDigestHex, encodeInitData, INITDATA_ANNOTATION } from './initdata.ts';
import { DEFAULT_AGENT_IMAGE, DEFAULT_RUNTIME_CLASS } from './defaults.ts';
import { pin } from './pin.ts';
import { agentPolicy } from './agent-policy.ts';
import { describeOptIns, optInsRecord, readOptIns, type ImageConfig, type ImageConfigSource } from './policy/index.ts';

export { DEFAULT_AGENT_IMAGE, DEFAULT_RUNTIME_CLASS };

export const AGENT_CONTAINER = 'cloak-agent';
export const SECRETS_VOLUME = 'cloak-secrets';
export const SECRETS_PATH = '/run/cloak/secrets';

type Obj = Record<string, any>;

export interface GenerateOptions {
  runtimeClass?: string;
  agentImage?: string;
  server?: string;
  /** Resolves `repo:tag` to `sha256:…` (through the registry); images already pinned are kept. */
  resolveDigest?: (image: string) => Promise<string>;
  /** The manifest document to read workload secrets from and write workloads into (checked: `checkManifestDocument`). */
  manifest?: ManifestDocument;
  /** Image configs (entrypoint, env, user, …) for the agent policy, by pinned digest. */
  imageConfigs?: ImageConfigSource;
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
  // The init-data holds this policy, so the policy cannot hold the init-data: matched by shape.
  CLOAK_INIT_DATA: '[A-Za-z0-9+/]+={0,2}',
};

export interface GenerateResult { docs: Obj[]; manifest: ManifestDocument; changes: string[]; notes: string[] }

/** Where the pod template of each workload kind lives. */
function podTemplate(doc: Obj): { meta: Obj; spec: Obj } | undefined {
  const t = (o: Obj | undefined) => (o ? { meta: (o.metadata ??= {}), spec: (o.spec ??= {}) } : undefined);
  switch (doc.kind) {
    case 'Pod': return t(doc);
    case 'Deployment': case 'StatefulSet': case 'DaemonSet': case 'ReplicaSet': case 'Job': return t(doc.spec?.template);
    case 'CronJob': return t(doc.spec?.jobTemplate?.spec?.template);
    default: return undefined;
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
  const manifest: ManifestDocument = structuredClone(opts.manifest ?? { version: 1, owners: { approvals: 1, users: [] }, secrets: [], workloads: [] });
  const workloads = (manifest.workloads ??= []);
  const secretDefs = (manifest.secrets ??= []);
  const changes: string[] = [];
  const notes: string[] = [];
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
      if (!def) throw new CloakError('K8S_MANIFEST_SECRET', `manifest workload ${name} names secret "${s.name}", which manifest.secrets does not define`);
      if (s.env) notes.push(`${where}: secret ${s.name} is delivered as variable ${s.env} in ${SECRETS_PATH}/cloak.env (the app reads it there)`);
      return { resource: def.resource, file: s.file, env: s.env };
    });

    if (spec.runtimeClassName !== (opts.runtimeClass ?? DEFAULT_RUNTIME_CLASS)) {
      spec.runtimeClassName = opts.runtimeClass ?? DEFAULT_RUNTIME_CLASS;
      changes.push(`${where}: runtimeClassName ${spec.runtimeClassName}`);
    }
    const annotations = (tpl.meta.annotations ??= {});
    spec.volumes = (spec.volumes ?? []).filter((v: Obj) => v.name !== SECRETS_VOLUME);
    spec.volumes.push({ name: SECRETS_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } });
    const agentImage = opts.agentImage ?? DEFAULT_AGENT_IMAGE;
    const agentEnv = { name: 'CLOAK_INIT_DATA', value: '' };
    const agent = {
      name: AGENT_CONTAINER,
      image: agentImage,
      args: ['agent', 'init', '--out', SECRETS_PATH],
      env: [agentEnv],
      volumeMounts: [{ name: SECRETS_VOLUME, mountPath: SECRETS_PATH }],
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
    };
    const inits: Obj[] = (spec.initContainers ?? []).filter((c: Obj) => c.name !== AGENT_CONTAINER);
    if (!(spec.initContainers ?? []).some((c: Obj) => c.name === AGENT_CONTAINER)) changes.push(`${where}: added init container ${AGENT_CONTAINER}`);
    spec.initContainers = [agent, ...inits];
    for (const c of containers) {
      c.volumeMounts = (c.volumeMounts ?? []).filter((m: Obj) => m.name !== SECRETS_VOLUME);
      c.volumeMounts.push({ name: SECRETS_VOLUME, mountPath: SECRETS_PATH, readOnly: true });
    }

    // The Kata agent policy of the pod as it will run, with the workload's opt-ins.
    const optIns = readOptIns(entry, annotations, [...spec.initContainers, ...containers].map((c: Obj) => String(c.name)), where);
    const record = optInsRecord(optIns);
    if (JSON.stringify(record) !== JSON.stringify(entry.agentPolicy)) {
      if (record) entry.agentPolicy = record;
      else delete entry.agentPolicy;
      changes.push(`manifest: workload ${name} agent policy opt-ins ${record ? JSON.stringify(record) : 'none'}`);
    }
    notes.push(...describeOptIns(optIns, where));
    const agentDigest = /@(sha256:[0-9a-f]{64})$/.exec(agentImage)?.[1];
    if (!agentDigest) notes.push(`${where}: the agent policy pins the agent image by its tag ${agentImage}; give --agent-image …@sha256:… to pin it by digest`);
    const agentConfig = (agentDigest && (await opts.imageConfigs?.(agentImage, agentDigest))) || AGENT_IMAGE_CONFIG;
    const noConfigs: ImageConfigSource = async () => undefined;
    const policy = await agentPolicy({
      kind: doc.kind, meta: doc.metadata, pod: spec, where, optIns, configs: opts.imageConfigs ?? noConfigs,
      containers: [
        { spec: agent, image: agentImage, digest: agentDigest, config: agentConfig, envPatterns: AGENT_ENV_PATTERNS },
        ...[...inits, ...containers].map((c: Obj) => ({ spec: c, image: String(c.image), digest: pinnedDigest.get(c) })),
      ],
    });

    const initData = workloadInitData({ name, server: opts.server, images: [...new Set(digests)], secrets, policy: policy.text });
    const digest = initDataDigestHex(initData);
    entry.images = [...new Set(digests)].sort();
    entry.referenceValues = { ...(entry.referenceValues ?? {}), initData: [digest] };
    const encoded = encodeInitData(initData);
    agentEnv.value = encoded;
    if (annotations[INITDATA_ANNOTATION] !== encoded) {
      annotations[INITDATA_ANNOTATION] = encoded;
      changes.push(`${where}: init-data annotation with agent policy (sha256 ${digest.slice(0, 16)}…, ${encoded.length} bytes encoded)`);
    }
  }
  return { docs: out, manifest, changes, notes };
}
