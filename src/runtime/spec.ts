import { DEFAULT_CAPS, MASKED_PATHS, READONLY_PATHS, type ImageConfig } from '../oci/index.ts';
import { resolveUser, type ImageUser } from './user.ts';

/** The parts of an OCI image config (as src/oci reads it) that decide how the process starts. */
export type ImageRunConfig = Pick<
  NonNullable<ImageConfig['config']>,
  'Entrypoint' | 'Cmd' | 'Env' | 'WorkingDir' | 'User'
>;

export const SECRETS_MOUNT = '/run/cloak/secrets';

/**
 * An OCI runtime spec (runc config.json) for the image's process: entrypoint
 * + cmd (or `args`), env, working dir and user from the image config; the
 * secrets directory bind-mounted read-only at /run/cloak/secrets; the
 * default capability set of container engines; the host network. With
 * `idMap` the container gets a user namespace mapping its ids 0..size-1 to
 * host ids hostId.. (the rootfs must be owned accordingly) and /sys is bound
 * read-only from the host (sysfs cannot be mounted from a user namespace
 * that does not own the network namespace).
 */
export function runtimeSpec(opts: {
  rootfs: string;
  image: ImageRunConfig;
  args?: string[];
  env?: string[];
  secretsDir?: string;
  hostname?: string;
  user?: ImageUser;
  idMap?: { hostId: number; size: number };
}): Record<string, unknown> {
  const { image } = opts;
  const args = opts.args?.length
    ? [...(image.Entrypoint ?? []), ...opts.args]
    : [...(image.Entrypoint ?? []), ...(image.Cmd ?? [])];
  const env = mergeEnv(
    ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(image.Env ?? [])],
    opts.env ?? [],
  );
  const user = opts.user ?? resolveUser(opts.rootfs, image.User);
  const { idMap } = opts;
  const mounts: unknown[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    idMap
      ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
  ];
  if (opts.secretsDir)
    mounts.push({
      destination: SECRETS_MOUNT,
      type: 'bind',
      source: opts.secretsDir,
      options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'],
    });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user,
      args,
      env,
      cwd: image.WorkingDir || '/',
      capabilities: { bounding: [...DEFAULT_CAPS], effective: [...DEFAULT_CAPS], permitted: [...DEFAULT_CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: opts.rootfs, readonly: false },
    hostname: opts.hostname ?? 'cloak',
    mounts,
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        ...(idMap ? [{ type: 'user' }] : []),
      ],
      ...(idMap && {
        uidMappings: [{ containerID: 0, hostID: idMap.hostId, size: idMap.size }],
        gidMappings: [{ containerID: 0, hostID: idMap.hostId, size: idMap.size }],
      }),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
}

/** Later entries win by variable name; order of first appearance is kept. */
export function mergeEnv(base: string[], extra: string[]): string[] {
  const m = new Map<string, string>();
  for (const e of [...base, ...extra]) {
    const i = e.indexOf('=');
    const k = i < 0 ? e : e.slice(0, i);
    m.set(k, e);
  }
  return [...m.values()];
}
