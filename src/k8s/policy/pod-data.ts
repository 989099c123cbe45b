import { posix } from 'node:path';
import { CloakError } from '../../lib/index.ts';
import { DEFAULT_CAPS, MASKED_PATHS, READONLY_PATHS } from '../../oci/index.ts';
import type { ImageConfig } from './image-config.ts';
import { imageGroupsOf, resolveImageUser } from './image-users.ts';
import type { AgentPolicyOptIns } from './opt-ins.ts';

type Obj = Record<string, any>;

/** A container of the pod with the image it is pinned to and that image's config. */
/**
 * A container of the pod with the image it is pinned to and that image's
 * config; `envPatterns` names variables whose value is only known when the
 * pod runs, with the pattern it must match.
 */
export interface ResolvedContainer {
  spec: Obj;
  image: string;
  digest?: string;
  config: ImageConfig;
  envPatterns?: Record<string, string>;
}

/** What the rules compare one CreateContainerRequest with (see rules.rego). */
export interface ContainerPolicy {
  name: string;
  type: 'sandbox' | 'container';
  image?: { names: string[] };
  args: string[];
  cwd: string;
  terminal: boolean;
  stdin: boolean;
  no_new_privileges: boolean;
  uid: number;
  gid: number;
  groups: number[];
  env: string[];
  env_names: string[];
  env_patterns: string[];
  env_required: string[];
  capabilities: Record<'Bounding' | 'Effective' | 'Permitted' | 'Inheritable' | 'Ambient', string[]>;
  readonly_root: boolean;
  shared_pidns: boolean;
  sysfs: 'ro' | 'rw';
  mounts: MountPolicy[];
  image_pulls: number[];
  block_volumes: number;
  /** GPUs the container asks for; the rules allow none yet (no device passthrough). */
  gpus: number;
  fs_group: { group_id: number; group_change_policy: number } | null;
  namespaces: Array<{ Type: string; Path: string }>;
  masked_paths: string[];
  readonly_paths: string[];
  sysctls: Record<string, string>;
  exec: string[][];
  exec_opt_in: string[][];
}

export interface MountPolicy {
  destination: string;
  options: string[][];
  shared?: string;
  block?: true;
  memory?: string;
  exact?: string;
}

export interface PodPolicy {
  sandbox_name: string;
  namespace: string;
  logs: boolean;
  containers: ContainerPolicy[];
}

// The container runtime defaults (src/oci), which the tests and the k8s barrel name from here.
export { DEFAULT_CAPS };
const ALL_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];
const SANDBOX_SYSCTLS = { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' };
const NAMESPACES = [
  { Type: 'ipc', Path: '' },
  { Type: 'uts', Path: '' },
  { Type: 'mount', Path: '' },
];
const PAUSE_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
/** Characters of Kubernetes' random name suffixes (k8s.io/apimachinery rand.String). */
const SUFFIX = '[bcdfghjklmnpqrstvwxz2456789]';

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The pod names the runtime may report for a workload's pods, as an anchored regex. */
export function sandboxNamePattern(kind: string, meta: Obj): string {
  const name = escapeRegex(String(meta.name ?? ''));
  switch (kind) {
    case 'Pod':
      return meta.name ? `^${name}$` : `^${escapeRegex(String(meta.generateName ?? ''))}${SUFFIX}+$`;
    case 'Deployment':
      return `^${name}-${SUFFIX}{1,10}-${SUFFIX}{5}$`;
    case 'StatefulSet':
      return `^${name}-[0-9]+$`;
    case 'CronJob':
      return `^${name}-[0-9]+-(?:[0-9]+-)?${SUFFIX}{5}$`;
    case 'Job':
      return `^${name}-(?:[0-9]+-)?${SUFFIX}{5}$`;
    default:
      return `^${name}-${SUFFIX}{5}$`; // ReplicaSet, DaemonSet
  }
}

/** Every spelling of a pinned image the runtime may use (as written, repo@digest, docker.io's long form). */
export function imageNames(image: string, digest: string | undefined): string[] {
  if (!digest) return [image];
  const repo = image.replace(/@sha256:[0-9a-f]{64}$/, '').replace(/:[^/:]+$/, '');
  const names = new Set([image, `${repo}@${digest}`]);
  const first = repo.split('/')[0]!;
  if (!(repo.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost'))) {
    const long = `docker.io/${repo.includes('/') ? repo : `library/${repo}`}`;
    names.add(`${long}@${digest}`);
  }
  return [...names].sort();
}

/** `$(VAR)` references in command and args, expanded as the kubelet does (`$$` escapes). */
function expand(s: string, vars: Map<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name?: string) =>
    name === undefined ? '$' : (vars.get(name) ?? all),
  );
}

const FIELD_PATTERNS: Record<string, string> = {
  'metadata.name': '[a-z0-9]([a-z0-9.-]*[a-z0-9])?',
  'metadata.namespace': '[a-z0-9]([a-z0-9-]*[a-z0-9])?',
  'metadata.uid': '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
  'spec.nodeName': '[a-z0-9]([a-z0-9.-]*[a-z0-9])?',
  'spec.serviceAccountName': '[a-z0-9]([a-z0-9.-]*[a-z0-9])?',
  'status.hostIP': '[0-9a-f.:]+',
  'status.podIP': '[0-9a-f.:]+',
};

function environment(
  c: Obj,
  config: ImageConfig,
  late: Record<string, string>,
  where: string,
): Pick<ContainerPolicy, 'env' | 'env_names' | 'env_patterns' | 'env_required'> & { vars: Map<string, string> } {
  if (c.envFrom?.length)
    throw new CloakError(
      'K8S_POLICY_ENVFROM',
      `${where}: envFrom brings variables whose names the policy cannot know; list them under env with valueFrom instead`,
    );
  const vars = new Map<string, string>();
  for (const e of config.Env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) vars.set(e.slice(0, i), e.slice(i + 1));
  }
  const patterns = new Map<string, string>();
  const required: string[] = [];
  // The kubelet expands $(VAR) with the pod's own variables only, not the image's.
  const declared = new Map<string, string>();
  for (const e of c.env ?? []) {
    const name = String(e.name);
    if (e.valueFrom) {
      vars.delete(name);
      declared.delete(name);
      const field = e.valueFrom.fieldRef?.fieldPath as string | undefined;
      const value = field ? (FIELD_PATTERNS[field] ?? '.*') : e.valueFrom.resourceFieldRef ? '[0-9]+' : '.*';
      patterns.set(name, `^${escapeRegex(name)}=${value}$`);
    } else {
      patterns.delete(name);
      const value = expand(String(e.value ?? ''), declared);
      vars.set(name, value);
      declared.set(name, value);
      required.push(`${name}=${value}`);
    }
  }
  for (const [name, value] of Object.entries(late)) {
    vars.delete(name);
    patterns.set(name, `^${escapeRegex(name)}=${value}$`);
  }
  const lateNames = new Set(Object.keys(late));
  const env = [...vars].map(([k, v]) => `${k}=${v}`);
  return {
    env,
    env_names: [...new Set([...vars.keys(), ...patterns.keys()])].sort(),
    env_patterns: [...patterns.values()],
    env_required: required.filter((e) => !lateNames.has(e.slice(0, e.indexOf('=')))),
    vars: declared,
  };
}

function capabilities(sc: Obj | undefined): ContainerPolicy['capabilities'] {
  const cap = (s: string) => (s.startsWith('CAP_') ? s : `CAP_${s}`).toUpperCase();
  let set = new Set(sc?.privileged ? ALL_CAPS : DEFAULT_CAPS);
  const drop: string[] = (sc?.capabilities?.drop ?? []).map(String);
  if (drop.some((d) => d.toUpperCase() === 'ALL')) set = new Set();
  else for (const d of drop) set.delete(cap(d));
  for (const a of sc?.capabilities?.add ?? []) set.add(String(a).toUpperCase() === 'ALL' ? '' : cap(String(a)));
  if (set.has('')) set = new Set(ALL_CAPS);
  const list = [...set].sort();
  return { Bounding: list, Effective: list, Permitted: list, Inheritable: [], Ambient: [] };
}

function propagation(m: Obj, rw: string): string[][] {
  const lists = [['rbind', 'rprivate', rw]];
  if (m.mountPropagation === 'HostToContainer') lists.push(['rbind', 'rslave', rw]);
  if (m.mountPropagation === 'Bidirectional') lists.push(['rbind', 'rshared', rw]);
  return lists;
}

/** The pod's volume mounts (and the image's volumes) as the runtime presents them. */
function volumeMounts(
  c: Obj,
  pod: Obj,
  config: ImageConfig,
  readonlyRoot: boolean,
  where: string,
): { mounts: MountPolicy[]; blocks: number } {
  const rootRw = readonlyRoot ? 'ro' : 'rw';
  const mounts: MountPolicy[] = [
    { destination: '/etc/hosts', shared: 'hosts', options: [['rbind', 'rprivate', rootRw]] },
    {
      destination: String(c.terminationMessagePath ?? '/dev/termination-log'),
      shared: 'termination-log',
      options: [['rbind', 'rprivate', 'rw']],
    },
    { destination: '/etc/hostname', shared: 'hostname', options: [['rbind', 'rprivate', rootRw]] },
    { destination: '/etc/resolv.conf', shared: 'resolv\\.conf', options: [['rbind', 'rprivate', rootRw]] },
  ];
  if (
    pod.automountServiceAccountToken !== false &&
    !(c.volumeMounts ?? []).some((m: Obj) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount')
  ) {
    mounts.push({
      destination: '/var/run/secrets/kubernetes.io/serviceaccount',
      shared: 'serviceaccount',
      options: [['rbind', 'rprivate', 'ro']],
    });
  }
  let blocks = 0;
  for (const m of c.volumeMounts ?? []) {
    const v = (pod.volumes ?? []).find((x: Obj) => x.name === m.name);
    if (!v) throw new CloakError('K8S_POLICY_VOLUME', `${where}: volumeMount ${m.name} names no volume of the pod`);
    const options = propagation(m, m.readOnly ? 'ro' : 'rw');
    const base = escapeRegex(posix.basename(String(m.subPath || v.name)));
    const destination = String(m.mountPath);
    if (v.emptyDir && v.emptyDir.medium === 'Memory') mounts.push({ destination, memory: String(v.name), options });
    else if (v.emptyDir) {
      blocks++;
      mounts.push({ destination, block: true, options });
    } else if (v.hostPath)
      mounts.push({ destination, shared: escapeRegex(posix.basename(String(v.hostPath.path))), options });
    else mounts.push({ destination, shared: base, options });
  }
  for (const dest of Object.keys(config.Volumes ?? {}).sort()) {
    if (mounts.some((m) => m.destination === dest)) continue;
    mounts.push({
      destination: dest,
      shared: escapeRegex(posix.basename(dest)),
      options: [['rbind', 'rprivate', 'rw']],
    });
  }
  return { mounts, blocks };
}

function gpuCount(c: Obj): number {
  const limits: Obj = { ...(c.resources?.requests ?? {}), ...(c.resources?.limits ?? {}) };
  return Object.entries(limits)
    .filter(([k]) => /(^|\/)(p?gpu|vfio)/.test(k) || k.startsWith('nvidia.com/'))
    .reduce((n, [, v]) => n + (Number(v) || 1), 0);
}

function execCommands(c: Obj): string[][] {
  const cmds = [c.livenessProbe, c.readinessProbe, c.startupProbe, c.lifecycle?.postStart, c.lifecycle?.preStop]
    .map((p) => p?.exec?.command)
    .filter((x): x is unknown[] => Array.isArray(x))
    .map((x) => x.map(String));
  return cmds;
}

/** The sandbox (pause) container every pod starts with. */
function sandboxContainer(pod: Obj): ContainerPolicy {
  const sc = pod.securityContext ?? {};
  const uid = sc.runAsUser ?? 65535;
  const gid = sc.runAsGroup ?? (sc.runAsUser !== undefined ? 0 : 65535);
  return {
    name: '',
    type: 'sandbox',
    args: ['/pause'],
    cwd: '/',
    terminal: false,
    stdin: false,
    no_new_privileges: true,
    uid,
    gid,
    groups: [
      ...new Set(
        [gid, ...(sc.supplementalGroups ?? []), ...(sc.fsGroup !== undefined ? [sc.fsGroup] : [])].map(Number),
      ),
    ].sort((a, b) => a - b),
    env: PAUSE_ENV,
    env_names: ['PATH'],
    env_patterns: [],
    env_required: [],
    capabilities: capabilities(undefined),
    readonly_root: true,
    shared_pidns: false,
    sysfs: 'ro',
    mounts: [
      {
        destination: '/etc/resolv.conf',
        shared: 'resolv\\.conf',
        options: [['rbind', 'ro', 'nosuid', 'nodev', 'noexec']],
      },
    ],
    image_pulls: [0, 1],
    block_volumes: 0,
    gpus: 0,
    fs_group: null,
    namespaces: NAMESPACES,
    masked_paths: [...MASKED_PATHS],
    readonly_paths: [...READONLY_PATHS],
    sysctls: SANDBOX_SYSCTLS,
    exec: [],
    exec_opt_in: [],
  };
}

function appContainer(r: ResolvedContainer, pod: Obj, optIns: AgentPolicyOptIns, where: string): ContainerPolicy {
  const c = r.spec;
  const at = `${where} container ${c.name}`;
  const psc = pod.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const { vars, ...env } = environment(c, r.config, r.envPatterns ?? {}, at);
  const entry = c.command ?? r.config.Entrypoint ?? [];
  const args = [...entry, ...(c.command ? (c.args ?? []) : (c.args ?? r.config.Cmd ?? []))].map((a: unknown) =>
    expand(String(a), vars),
  );
  if (args.length === 0)
    throw new CloakError('K8S_POLICY_COMMAND', `${at}: neither the pod nor the image config says what to run`);
  const runAsUser = sc.runAsUser ?? psc.runAsUser;
  const user = resolveImageUser(runAsUser !== undefined ? String(runAsUser) : r.config.User, r.config.users, at);
  const uid = user.uid;
  const gid = Number(sc.runAsGroup ?? psc.runAsGroup ?? user.gid);
  const fsGroup = psc.fsGroup;
  // As containerd and the kubelet set them: the primary group, the user's groups in the image, supplementalGroups, fsGroup.
  const groups = [
    ...new Set(
      [
        gid,
        ...imageGroupsOf(uid, r.config.users),
        ...(psc.supplementalGroups ?? []),
        ...(fsGroup !== undefined ? [fsGroup] : []),
      ].map(Number),
    ),
  ].sort((a, b) => a - b);
  const privileged = sc.privileged === true;
  const readonlyRoot = sc.readOnlyRootFilesystem === true;
  const { mounts, blocks } = volumeMounts(c, pod, r.config, readonlyRoot, at);
  const sysctls: Record<string, string> = { ...SANDBOX_SYSCTLS };
  for (const s of psc.sysctls ?? []) sysctls[String(s.name)] = String(s.value);
  return {
    name: String(c.name),
    type: 'container',
    image: { names: imageNames(r.image, r.digest) },
    args,
    cwd: String(c.workingDir || r.config.WorkingDir || '/'),
    terminal: c.tty === true,
    stdin: c.stdin === true && optIns.stdin,
    no_new_privileges: !privileged && sc.allowPrivilegeEscalation === false,
    uid,
    gid,
    groups,
    ...env,
    capabilities: capabilities(sc),
    readonly_root: readonlyRoot,
    shared_pidns: pod.shareProcessNamespace === true,
    sysfs: privileged ? 'rw' : 'ro',
    mounts,
    image_pulls: [1],
    block_volumes: blocks,
    gpus: gpuCount(c),
    fs_group:
      fsGroup !== undefined
        ? { group_id: Number(fsGroup), group_change_policy: psc.fsGroupChangePolicy === 'OnRootMismatch' ? 1 : 0 }
        : null,
    namespaces: NAMESPACES,
    masked_paths: privileged ? [] : [...MASKED_PATHS],
    readonly_paths: privileged ? [] : [...READONLY_PATHS],
    sysctls,
    exec: execCommands(c),
    exec_opt_in: optIns.exec.filter((e) => e.container === c.name).map((e) => e.command),
  };
}

/**
 * The generated half of the agent policy for one pod: what each container
 * (the sandbox first, then init containers, then app containers, each with
 * its pinned image and image config) may look like in a CreateContainerRequest.
 */
export function podPolicy(
  kind: string,
  meta: Obj,
  pod: Obj,
  containers: ResolvedContainer[],
  namespace: string,
  optIns: AgentPolicyOptIns,
  where: string,
): PodPolicy {
  return {
    sandbox_name: sandboxNamePattern(kind, meta),
    namespace,
    logs: optIns.logs,
    containers: [sandboxContainer(pod), ...containers.map((r) => appContainer(r, pod, optIns, where))],
  };
}
