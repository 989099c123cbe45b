// Test support: agent requests shaped like the ones the Kata runtime sends
// (see kata-policy/examples/ in the test data, src/lib/testing/testdata.ts), for a container
// of a generated policy.
import type { ContainerPolicy, PodPolicy } from '../pod-data.ts';

export const SANDBOX_ID = 'a'.repeat(64);
const NETNS = '/run/netns/cni-11111111-2222-3333-4444-555555555555';

/** base64url with padding, as the runtime names block-device mount points (MDAvMDA=). */
export const paddedBase64url = (s: string): string =>
  Buffer.from(s).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');

const shared = (bundle: string, name: string) =>
  `/run/kata-containers/shared/containers/${bundle}-0123456789abcdef-${name}`;

/** The CreateContainerRequest for pod.containers[index], as a guest-pull runtime sends it. */
export function createContainerRequest(
  pod: PodPolicy,
  index: number,
  opts: { podName: string; namespace?: string; containerId?: string },
): any {
  const c: ContainerPolicy = pod.containers[index]!;
  const id = opts.containerId ?? (index === 0 ? SANDBOX_ID : String(index).repeat(64).slice(0, 64));
  const ns = opts.namespace ?? 'default';
  const root = `/run/kata-containers/${id}/rootfs`;
  const storages: any[] = [];
  const mounts: any[] = [
    { destination: '/proc', source: 'proc', type_: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      source: 'tmpfs',
      type_: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    { destination: '/sys', source: 'sysfs', type_: 'sysfs', options: ['nosuid', 'noexec', 'nodev', c.sysfs] },
    { destination: '/dev/shm', source: '/run/kata-containers/sandbox/shm', type_: 'bind', options: ['rbind'] },
  ];
  let block = 0;
  for (const m of c.mounts) {
    let source: string;
    if (m.block) {
      const dev = `0${block}/0${block}`;
      block++;
      source = `/run/kata-containers/sandbox/storage/${paddedBase64url(dev)}`;
      storages.push({
        driver: 'blk',
        driver_options: ['encryption_key=ephemeral', 'create_filesystem'],
        source: dev,
        fstype: 'ext4',
        options: [],
        mount_point: source,
        fs_group: c.fs_group,
        shared: true,
      });
    } else if (m.memory) {
      source = `/run/kata-containers/sandbox/ephemeral/${m.memory}`;
      storages.push({
        driver: 'ephemeral',
        driver_options: [],
        source: 'tmpfs',
        fstype: 'tmpfs',
        options: [],
        mount_point: source,
        fs_group: c.fs_group,
        shared: false,
      });
    } else source = shared(id, m.shared!.replace(/\\/g, ''));
    mounts.push({ destination: m.destination, source, type_: 'bind', options: m.options[0] });
  }
  const annotations: Record<string, string> = {
    'io.katacontainers.pkg.oci.bundle_path': `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${id}`,
    'io.kubernetes.cri.sandbox-id': SANDBOX_ID,
    'io.kubernetes.cri.sandbox-name': opts.podName,
    'io.kubernetes.cri.sandbox-namespace': ns,
    'io.kubernetes.cri.sandbox-uid': '11111111-2222-3333-4444-555555555555',
  };
  if (c.type === 'sandbox') {
    Object.assign(annotations, {
      'io.katacontainers.pkg.oci.container_type': 'pod_sandbox',
      'io.kubernetes.cri.container-type': 'sandbox',
      'io.kubernetes.cri.sandbox-log-directory': `/var/log/pods/${ns}_${opts.podName}_11111111-2222-3333-4444-555555555555`,
      'nerdctl/network-namespace': '/var/run/netns/cni-11111111-2222-3333-4444-555555555555',
    });
  } else {
    const image = c.image!.names.find((n) => !/:[^/@]+@/.test(n))!;
    Object.assign(annotations, {
      'io.katacontainers.pkg.oci.container_type': 'pod_container',
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.container-name': c.name,
      'io.kubernetes.cri.image-name': image,
    });
    storages.unshift({
      driver: 'image_guest_pull',
      driver_options: [
        `image_guest_pull=${JSON.stringify({ metadata: { 'io.kubernetes.cri.image-name': image, 'io.kubernetes.cri.container-name': c.name } })}`,
      ],
      source: image,
      fstype: 'overlay',
      options: [],
      mount_point: root,
      fs_group: null,
      shared: false,
    });
  }
  return {
    container_id: id,
    exec_id: id,
    string_user: null,
    devices: [],
    storages,
    OCI: {
      Version: '1.1.0',
      Process: {
        Terminal: c.terminal,
        ConsoleSize: null,
        User: { UID: c.uid, GID: c.gid, AdditionalGids: c.groups, Username: '' },
        Args: c.args,
        Env: [...c.env, `HOSTNAME=${opts.podName}`, 'KUBERNETES_SERVICE_HOST=10.0.0.1', 'KUBERNETES_SERVICE_PORT=443'],
        Cwd: c.cwd,
        Capabilities: c.capabilities,
        Rlimits: [],
        NoNewPrivileges: c.no_new_privileges,
        ApparmorProfile: '',
        OOMScoreAdj: 0,
        SelinuxLabel: '',
      },
      Root: { Path: root, Readonly: c.readonly_root },
      Hostname: '',
      Mounts: mounts,
      Hooks: null,
      Annotations: annotations,
      Linux: {
        UIDMappings: [],
        GIDMappings: [],
        Sysctl: {},
        Resources: {
          Devices: [],
          Memory: null,
          CPU: null,
          Pids: null,
          BlockIO: null,
          HugepageLimits: [],
          Network: null,
        },
        CgroupsPath: '',
        Namespaces: [...c.namespaces, { Type: 'network', Path: NETNS }],
        Devices: [],
        Seccomp: null,
        RootfsPropagation: '',
        MaskedPaths: c.masked_paths,
        ReadonlyPaths: c.readonly_paths,
        MountLabel: '',
        IntelRdt: null,
      },
      Solaris: null,
      Windows: null,
    },
    sandbox_pidns: c.shared_pidns,
    shared_mounts: [],
    stdin_port: 0,
    stdout_port: 0,
    stderr_port: 0,
  };
}

/** The ExecProcessRequest of `args` in a created container, as the runtime sends it for an exec probe. */
export function execRequest(createRequest: any, args: string[], change: (p: any) => void = () => {}): any {
  const p = createRequest.OCI.Process;
  const process = { ...structuredClone(p), Args: args, Capabilities: null, Terminal: false };
  change(process);
  return {
    container_id: createRequest.container_id,
    exec_id: 'e1e1e1e1-0000-0000-0000-000000000000',
    string_user: null,
    process,
    stdin_port: 0,
    stdout_port: 0,
    stderr_port: 0,
  };
}
