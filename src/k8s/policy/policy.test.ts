// Cloak's agent policy on a generated workload, evaluated by a real Rego engine:
// what the host may and may not ask the Kata agent for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, INITDATA_ANNOTATION } from '../index.ts';
import { decodeInitData } from '../../lib/index.ts';
import { parse as parseToml } from 'smol-toml';
import type { ImageConfig, ImageConfigSource } from './image-config.ts';
import type { PodPolicy } from './pod-data.ts';
import { evaluateBatch, findRegoEngine, replay, allowed, type PolicyCase } from './testing/rego.ts';
import { createContainerRequest, execRequest, paddedBase64url } from './testing/requests.ts';
import { testdata } from '../../lib/testing/testdata.ts';

const { engine, reason } = findRegoEngine();
const skip = engine ? false : reason;
const KATA = testdata('kata-policy');

const APP = `registry.example/shop/app@sha256:${'a'.repeat(64)}`;
const CONFIGS: Record<string, ImageConfig> = {
  [`sha256:${'a'.repeat(64)}`]: {
    Entrypoint: ['/app'],
    Cmd: ['serve'],
    Env: ['PATH=/usr/bin:/bin', 'APP_MODE=prod'],
    User: '1000:1000',
    WorkingDir: '/srv',
    Volumes: { '/cache': {} },
  },
  [`sha256:${'b'.repeat(64)}`]: { Entrypoint: ['/sidecar'], Env: ['PATH=/usr/bin:/bin'], User: '2000:2000' },
};
const configs: ImageConfigSource = async (_image, digest) => CONFIGS[digest];

function deployment(annotations: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'shop', namespace: 'prod' },
    spec: {
      selector: { matchLabels: { app: 'shop' } },
      template: {
        metadata: { labels: { app: 'shop' }, annotations },
        spec: {
          containers: [
            {
              name: 'app',
              image: APP,
              env: [{ name: 'FOO', value: 'bar' }],
              livenessProbe: { exec: { command: ['/app', 'health'] } },
              volumeMounts: [
                { name: 'data', mountPath: '/data' },
                { name: 'cfg', mountPath: '/etc/app', readOnly: true },
              ],
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
              },
              ...extra,
            },
          ],
          volumes: [
            { name: 'data', emptyDir: {} },
            { name: 'cfg', configMap: { name: 'shop-config' } },
          ],
        },
      },
    },
  };
}

async function generated(
  doc: any,
): Promise<{ policy: string; data: PodPolicy; encoded: string; notes: string[]; manifest: any }> {
  const r = await generate([doc], { server: 'https://cloak.example:8080', imageConfigs: configs });
  const tpl = r.docs[0]!.spec.template;
  const encoded = tpl.metadata.annotations[INITDATA_ANNOTATION];
  const policy = (parseToml(decodeInitData(encoded)) as any).data['policy.rego'] as string;
  const data = JSON.parse(policy.slice(policy.indexOf('pod := ') + 'pod := '.length));
  return { policy, data, encoded, notes: r.notes, manifest: r.manifest };
}

const POD = 'shop-7d9f8b6c5d-x2k4q';
const create = (data: PodPolicy, i: number) => createContainerRequest(data, i, { podName: POD, namespace: 'prod' });

/** Starts the sandbox, the Cloak agent and the app; returns the state after and the app's request. */
async function startPod(policy: string, data: PodPolicy) {
  const requests = data.containers.map((_, i) => create(data, i));
  const { verdicts } = await replay(
    engine!,
    policy,
    requests.map((input) => ({ kind: 'CreateContainerRequest', input })),
  );
  const pstate: any = {
    sandbox_name: POD,
    namespace: 'prod',
    network_namespace: requests[0].OCI.Linux.Namespaces.at(-1).Path,
    containers: Object.fromEntries(requests.map((r, i) => [r.container_id, i])),
  };
  return { verdicts, requests, pstate, app: requests[data.containers.findIndex((c) => c.name === 'app')] };
}

async function verdictsOf(
  policy: string,
  pstate: unknown,
  cases: Array<[string, PolicyCase]>,
): Promise<Record<string, boolean>> {
  const values = await evaluateBatch(
    engine!,
    policy,
    pstate,
    cases.map(([, c]) => c),
  );
  return Object.fromEntries(cases.map(([name], i) => [name, allowed(values[i])]));
}

const mutate = (base: any, f: (r: any) => void) => {
  const r = structuredClone(base);
  f(r);
  return r;
};
const mount = (r: any, dest: string) => r.OCI.Mounts.find((m: any) => m.destination === dest);

/** An empty CreateSandboxRequest with the members of `input` set. */
const createSandbox = (input: Record<string, unknown>) => ({
  kind: 'CreateSandboxRequest',
  input: {
    hostname: '',
    dns: [],
    storages: [],
    sandbox_pidns: false,
    sandbox_id: '',
    guest_hook_path: '',
    kernel_modules: [],
    ...input,
  },
});

/** A CopyFileRequest of a 10-byte regular file, owned by root, to `path`. */
const copyFile = (path: string, mode = 0o644) => ({
  kind: 'CopyFileRequest',
  input: {
    path,
    file_type: 'Regular',
    symlink_target: null,
    file_size: 10,
    file_mode: mode,
    dir_mode: 0o755,
    uid: 0,
    gid: 0,
    offset: 0,
  },
});
test('the pod as generated starts: sandbox, Cloak agent and app are each allowed', { skip }, async () => {
  const { policy, data } = await generated(deployment());
  assert.deepEqual(
    data.containers.map((c) => c.name),
    ['', 'cloak-agent', 'app'],
  );
  const { verdicts } = await startPod(policy, data);
  assert.deepEqual(verdicts, [true, true, true]);
});

test(
  "every host-controlled field of the app's CreateContainerRequest, changed alone, is refused",
  { skip },
  async () => {
    const { policy, data } = await generated(deployment());
    const { pstate, app } = await startPod(policy, data);
    const other = `registry.example/shop/app@sha256:${'c'.repeat(64)}`;
    const mutations: Record<string, (r: any) => void> = {
      'env: LD_PRELOAD injected': (r) => r.OCI.Process.Env.push('LD_PRELOAD=/tmp/evil.so'),
      'env: image variable changed': (r) => {
        r.OCI.Process.Env = r.OCI.Process.Env.map((e: string) => (e === 'APP_MODE=prod' ? 'APP_MODE=debug' : e));
      },
      'env: pod variable dropped': (r) => {
        r.OCI.Process.Env = r.OCI.Process.Env.filter((e: string) => e !== 'FOO=bar');
      },
      'env: a declared variable given a second value': (r) => r.OCI.Process.Env.push('FOO=10.0.0.1'),
      'args: another command': (r) => {
        r.OCI.Process.Args = ['/bin/sh', '-c', 'cat /run/cloak/secrets/*'];
      },
      'args: one more argument': (r) => r.OCI.Process.Args.push('--debug'),
      cwd: (r) => {
        r.OCI.Process.Cwd = '/';
      },
      terminal: (r) => {
        r.OCI.Process.Terminal = true;
      },
      'user: root': (r) => {
        r.OCI.Process.User.UID = 0;
      },
      'user: group': (r) => {
        r.OCI.Process.User.GID = 0;
      },
      'user: extra group': (r) => r.OCI.Process.User.AdditionalGids.push(0),
      'user: name to resolve': (r) => {
        r.OCI.Process.User.Username = 'root';
      },
      'noNewPrivileges off': (r) => {
        r.OCI.Process.NoNewPrivileges = false;
      },
      'capability added': (r) => {
        for (const k of ['Bounding', 'Effective', 'Permitted']) r.OCI.Process.Capabilities[k].push('CAP_SYS_ADMIN');
      },
      'privileged: all capabilities': (r) => {
        for (const k of ['Bounding', 'Effective', 'Permitted'])
          r.OCI.Process.Capabilities[k] = ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE'];
      },
      'privileged: /sys writable': (r) => {
        mount(r, '/sys').options[3] = 'rw';
      },
      "mount source: another container's ConfigMap share": (r) => {
        mount(r, '/etc/app').source = `/run/kata-containers/shared/containers/${'9'.repeat(64)}-0123456789abcdef-cfg`;
      },
      'mount source: emptyDir from the guest root': (r) => {
        mount(r, '/data').source = '/run/cloak';
      },
      'mount destination: ConfigMap over /bin': (r) => {
        mount(r, '/etc/app').destination = '/bin';
      },
      'mount: extra host directory': (r) =>
        r.OCI.Mounts.push({
          destination: '/host',
          source: `/run/kata-containers/shared/containers/${r.container_id}-0123456789abcdef-cfg`,
          type_: 'bind',
          options: ['rbind', 'rprivate', 'rw'],
        }),
      'mount: ConfigMap made writable': (r) => {
        mount(r, '/etc/app').options = ['rbind', 'rprivate', 'rw'];
      },
      'mount: propagation shared': (r) => {
        mount(r, '/data').options = ['rbind', 'rshared', 'rw'];
      },
      'mount: the same destination twice': (r) => r.OCI.Mounts.push(structuredClone(mount(r, '/data'))),
      'image: another digest pulled': (r) => {
        r.storages[0].source = other;
      },
      'image: another image-name': (r) => {
        r.OCI.Annotations['io.kubernetes.cri.image-name'] = other;
      },
      'image: another image-name in the pull options': (r) => {
        r.storages[0].driver_options = [
          `image_guest_pull=${JSON.stringify({ metadata: { 'io.kubernetes.cri.image-name': other } })}`,
        ];
      },
      'image: no guest pull (rootfs from the host)': (r) => {
        r.storages = r.storages.filter((s: any) => s.driver !== 'image_guest_pull');
      },
      'storage: an extra block device': (r) =>
        r.storages.push({
          ...structuredClone(r.storages[1]),
          source: '07/07',
          mount_point: `/run/kata-containers/sandbox/storage/${paddedBase64url('07/07')}`,
        }),
      hooks: (r) => {
        r.OCI.Hooks = {
          Prestart: [{ Path: '/bin/sh', Args: ['-c', 'id'], Env: [], Timeout: 0 }],
          CreateRuntime: [],
          CreateContainer: [],
          StartContainer: [],
          Poststart: [],
          Poststop: [],
        };
      },
      sysctl: (r) => {
        r.OCI.Linux.Sysctl['kernel.core_pattern'] = '|/tmp/x';
      },
      device: (r) =>
        r.OCI.Linux.Devices.push({ Path: '/dev/sda', Type: 'b', Major: 8, Minor: 0, FileMode: 0o660, UID: 0, GID: 0 }),
      'agent device': (r) =>
        r.devices.push({ id: 'x', type_: 'blk', vm_path: '/dev/vdb', container_path: '/dev/vdb', options: [] }),
      'pid namespace of the sandbox': (r) => {
        r.sandbox_pidns = true;
      },
      'host user namespace mapping': (r) => r.OCI.Linux.UIDMappings.push({ HostID: 0, ContainerID: 0, Size: 1 }),
      'unknown annotation': (r) => {
        r.OCI.Annotations['io.katacontainers.config.agent.policy'] = 'cGFja2FnZQ==';
      },
      'container name of the Cloak agent': (r) => {
        r.OCI.Annotations['io.kubernetes.cri.container-name'] = 'cloak-agent';
      },
      'another pod name': (r) => {
        r.OCI.Annotations['io.kubernetes.cri.sandbox-name'] = 'shop-7d9f8b6c5d-zzzzz';
      },
      'another namespace': (r) => {
        r.OCI.Annotations['io.kubernetes.cri.sandbox-namespace'] = 'default';
      },
      'another network namespace': (r) => {
        r.OCI.Linux.Namespaces.at(-1).Path = '/run/netns/other';
      },
      'rootfs outside the container': (r) => {
        r.OCI.Root.Path = '/run/kata-containers/shared/containers/x/rootfs';
      },
    };
    const cases: Array<[string, PolicyCase]> = [
      ['unchanged', { kind: 'CreateContainerRequest', input: app }],
      ...Object.entries(mutations).map(([name, f]): [string, PolicyCase] => [
        name,
        { kind: 'CreateContainerRequest', input: mutate(app, f) },
      ]),
    ];
    const got = await verdictsOf(policy, pstate, cases);
    assert.equal(got.unchanged, true);
    assert.deepEqual(
      Object.entries(got)
        .filter(([k, v]) => k !== 'unchanged' && v)
        .map(([k]) => k),
      [],
      'each mutation is refused',
    );
  },
);

test(
  'exec: only the probe command, in its container, as declared; logs, stdin, SetPolicy and CopyFile outside the share refused',
  { skip },
  async () => {
    const { policy, data } = await generated(deployment());
    const { pstate, app, requests } = await startPod(policy, data);
    const agent = requests[1];
    const hosts = `/run/kata-containers/shared/containers/${app.container_id}-0123456789abcdef-hosts`;
    const got = await verdictsOf(policy, pstate, [
      ['probe', { kind: 'ExecProcessRequest', input: execRequest(app, ['/app', 'health']) }],
      ['shell', { kind: 'ExecProcessRequest', input: execRequest(app, ['/bin/sh']) }],
      [
        'probe with another argument',
        { kind: 'ExecProcessRequest', input: execRequest(app, ['/app', 'health', '--verbose']) },
      ],
      ['probe in the agent container', { kind: 'ExecProcessRequest', input: execRequest(agent, ['/app', 'health']) }],
      [
        'probe in an unknown container',
        {
          kind: 'ExecProcessRequest',
          input: { ...execRequest(app, ['/app', 'health']), container_id: 'f'.repeat(64) },
        },
      ],
      [
        'probe with a terminal',
        {
          kind: 'ExecProcessRequest',
          input: execRequest(app, ['/app', 'health'], (p) => {
            p.Terminal = true;
          }),
        },
      ],
      [
        'probe with LD_PRELOAD',
        {
          kind: 'ExecProcessRequest',
          input: execRequest(app, ['/app', 'health'], (p) => p.Env.push('LD_PRELOAD=/x.so')),
        },
      ],
      [
        'probe with capabilities',
        {
          kind: 'ExecProcessRequest',
          input: execRequest(app, ['/app', 'health'], (p) => {
            p.Capabilities = app.OCI.Process.Capabilities;
          }),
        },
      ],
      [
        'probe as root',
        {
          kind: 'ExecProcessRequest',
          input: execRequest(app, ['/app', 'health'], (p) => {
            p.User.UID = 0;
          }),
        },
      ],
      [
        'logs',
        { kind: 'ReadStreamRequest', input: { container_id: app.container_id, exec_id: app.container_id, len: 4096 } },
      ],
      [
        'stdin',
        {
          kind: 'WriteStreamRequest',
          input: { container_id: app.container_id, exec_id: app.container_id, data: [104, 105] },
        },
      ],
      [
        'close stdin',
        { kind: 'CloseStdinRequest', input: { container_id: app.container_id, exec_id: app.container_id } },
      ],
      [
        'new policy',
        { kind: 'SetPolicyRequest', input: { policy: 'package agent_policy\ndefault ExecProcessRequest := true\n' } },
      ],
      ['copy hosts into the share', copyFile(hosts)],
      ['copy to /etc/passwd', copyFile('/etc/passwd')],
      ['copy into a rootfs', copyFile(`/run/kata-containers/${app.container_id}/rootfs/bin/sh`, 0o755)],
      ['copy out through ..', copyFile(`${hosts}/../../../../etc/shadow`)],
      ['sandbox with a kernel module', createSandbox({ kernel_modules: [{ name: 'evil', parameters: [] }] })],
      ['sandbox with a guest hook', createSandbox({ guest_hook_path: '/usr/share/oci/hooks' })],
    ]);
    assert.deepEqual(got, {
      probe: true,
      shell: false,
      'probe with another argument': false,
      'probe in the agent container': false,
      'probe in an unknown container': false,
      'probe with a terminal': false,
      'probe with LD_PRELOAD': false,
      'probe with capabilities': false,
      'probe as root': false,
      logs: false,
      stdin: false,
      'close stdin': false,
      'new policy': false,
      'copy hosts into the share': true,
      'copy to /etc/passwd': false,
      'copy into a rootfs': false,
      'copy out through ..': false,
      'sandbox with a kernel module': false,
      'sandbox with a guest hook': false,
    });
  },
);

test(
  'every agent API request the rules do not allow by name is refused (deny by default)',
  { skip: KATA.skip || skip },
  async () => {
    const { policy } = await generated(deployment());
    const proto = KATA.text('protos/agent.proto');
    const requests = [...new Set([...proto.matchAll(/^\s*rpc \w+\((\w+)\)/gm)].map((m) => m[1]!))].sort();
    assert.ok(requests.length >= 40, `agent.proto lists ${requests.length} request types`);
    const got = await verdictsOf(
      policy,
      {},
      requests.map((r): [string, PolicyCase] => [r, { kind: r, input: {} }]),
    );
    const allowedByName = [
      'DestroySandboxRequest',
      'GetOOMEventRequest',
      'GuestDetailsRequest',
      'OnlineCPUMemRequest',
      'RemoveContainerRequest',
      'RemoveStaleVirtiofsShareMountsRequest',
      'SignalProcessRequest',
      'StartContainerRequest',
      'StatsContainerRequest',
      'TtyWinResizeRequest',
      'WaitProcessRequest',
    ];
    assert.deepEqual(
      Object.keys(got)
        .filter((k) => got[k])
        .sort(),
      allowedByName,
    );
    // Each request type has a rule (the agent refuses an undefined one too, but a missing rule is a bug).
    const values = await evaluateBatch(
      engine!,
      policy,
      {},
      requests.map((r) => ({ kind: r, input: {} })),
    );
    assert.deepEqual(
      requests.filter((_, i) => values[i] === undefined),
      [],
    );
  },
);

test(
  'opt-ins (pod annotations) are printed, recorded in the manifest, change the digest, and allow exactly what they name',
  { skip },
  async () => {
    const base = await generated(deployment());
    const opted = await generated(
      deployment(
        {
          'policy.cloak.dev/allow-logs': 'true',
          'policy.cloak.dev/allow-stdin': 'true',
          'policy.cloak.dev/allow-exec': JSON.stringify([{ container: 'app', command: ['/bin/sh'] }]),
        },
        { stdin: true },
      ),
    );
    assert.notEqual(opted.encoded, base.encoded);
    assert.deepEqual(opted.manifest.workloads[0].agentPolicy, {
      logs: true,
      stdin: true,
      exec: [{ container: 'app', command: ['/bin/sh'] }],
    });
    assert.equal(base.manifest.workloads[0].agentPolicy, undefined);
    assert.deepEqual(opted.notes.filter((n) => /opt-in/.test(n)).length, 3);
    const { pstate, app, requests } = await startPod(opted.policy, opted.data);
    const got = await verdictsOf(opted.policy, pstate, [
      [
        'logs',
        { kind: 'ReadStreamRequest', input: { container_id: app.container_id, exec_id: app.container_id, len: 4096 } },
      ],
      [
        'stdin of the app',
        { kind: 'WriteStreamRequest', input: { container_id: app.container_id, exec_id: app.container_id, data: [] } },
      ],
      [
        'stdin of the agent',
        {
          kind: 'WriteStreamRequest',
          input: { container_id: requests[1].container_id, exec_id: requests[1].container_id, data: [] },
        },
      ],
      [
        'kubectl exec -it /bin/sh',
        {
          kind: 'ExecProcessRequest',
          input: execRequest(app, ['/bin/sh'], (p) => {
            p.Terminal = true;
          }),
        },
      ],
      ['/bin/bash', { kind: 'ExecProcessRequest', input: execRequest(app, ['/bin/bash']) }],
      ['/bin/sh in the agent', { kind: 'ExecProcessRequest', input: execRequest(requests[1], ['/bin/sh']) }],
    ]);
    assert.deepEqual(got, {
      logs: true,
      'stdin of the app': true,
      'stdin of the agent': false,
      'kubectl exec -it /bin/sh': true,
      '/bin/bash': false,
      '/bin/sh in the agent': false,
    });
  },
);

test('opt-ins in the manifest (agentPolicy) work like the annotations', async () => {
  const manifest = {
    version: 1,
    owners: { approvals: 1, users: [] },
    secrets: [],
    workloads: [
      {
        name: 'shop',
        secrets: [],
        agentPolicy: { logs: true, exec: [{ container: 'app', command: ['/app', 'dump'] }] },
      },
    ],
  };
  const r = await generate([deployment()], { imageConfigs: configs, manifest });
  const encoded = r.docs[0]!.spec.template.metadata.annotations[INITDATA_ANNOTATION];
  const policy = (parseToml(decodeInitData(encoded)) as any).data['policy.rego'] as string;
  const data: PodPolicy = JSON.parse(policy.slice(policy.indexOf('pod := ') + 'pod := '.length));
  assert.equal(data.logs, true);
  assert.deepEqual(data.containers.find((c) => c.name === 'app')!.exec_opt_in, [['/app', 'dump']]);
  assert.deepEqual(
    r.notes.filter((n) => /opt-in/.test(n)),
    [
      'Deployment/shop: agent policy opt-in: the host may read container output (logs)',
      'Deployment/shop: agent policy opt-in: the host may exec ["/app","dump"] in container app',
    ],
  );
  await assert.rejects(
    generate([deployment({ 'policy.cloak.dev/allow-exec': '[{"container":"nope","command":["sh"]}]' })], {
      imageConfigs: configs,
    }),
    /must name a container of the pod/,
  );
});

test('the same workload always gives the same policy bytes', async () => {
  const a = await generated(deployment());
  const b = await generated(deployment());
  assert.equal(a.encoded, b.encoded);
  assert.ok(!a.policy.includes("'''"));
});

test("a five-container pod's init-data stays well under the annotation budget", async () => {
  const doc: any = deployment();
  const c0 = doc.spec.template.spec.containers[0];
  doc.spec.template.spec.containers = [0, 1, 2, 3, 4].map((i) => ({
    ...structuredClone(c0),
    name: `c${i}`,
    image: i % 2 ? `registry.example/shop/side@sha256:${'b'.repeat(64)}` : APP,
  }));
  const { encoded, policy } = await generated(doc);
  console.log(`five containers: policy.rego ${policy.length} bytes, init-data annotation ${encoded.length} bytes`);
  assert.ok(encoded.length < 64 * 1024, `${encoded.length} bytes`);
  assert.ok(policy.split('\n').every((l) => l.length < 64 * 1024));
});
