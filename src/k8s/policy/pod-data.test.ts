import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageNames, podPolicy, sandboxNamePattern, DEFAULT_CAPS, type ContainerPolicy } from './pod-data.ts';
import type { ImageConfig } from './image-config.ts';

const NONE = { logs: false, stdin: false, exec: [] };
const D = `sha256:${'d'.repeat(64)}`;

function container(
  spec: Record<string, any>,
  config: ImageConfig = { Entrypoint: ['/entry'], Cmd: ['default'], Env: ['PATH=/bin', 'MODE=image'] },
  pod: Record<string, any> = {},
): ContainerPolicy {
  return podPolicy(
    'Pod',
    { name: 'p' },
    { containers: [spec], ...pod },
    [{ spec: { name: 'c', ...spec }, image: `app@${D}`, digest: D, config }],
    '',
    NONE,
    'Pod/p',
  ).containers[1]!;
}

test("command and args follow Kubernetes: command replaces the entrypoint and drops cmd, args replace cmd, $(VAR) from the pod's variables only", () => {
  const table: Array<[Record<string, any>, string[]]> = [
    [{}, ['/entry', 'default']],
    [{ args: ['x'] }, ['/entry', 'x']],
    [{ command: ['/bin/app'] }, ['/bin/app']],
    [
      {
        command: ['/bin/app'],
        args: ['--port', '$(PORT)', '$(MODE)', '$$(PORT)'],
        env: [{ name: 'PORT', value: '80' }],
      },
      ['/bin/app', '--port', '80', '$(MODE)', '$(PORT)'],
    ],
  ];
  for (const [spec, args] of table) assert.deepEqual(container(spec).args, args, JSON.stringify(spec));
});

test('environment: image, then pod (overriding), valueFrom by pattern, envFrom refused', () => {
  const c = container({
    env: [
      { name: 'MODE', value: 'pod' },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
    ],
  });
  assert.deepEqual(c.env, ['PATH=/bin', 'MODE=pod']);
  assert.deepEqual(c.env_required, ['MODE=pod']);
  assert.deepEqual(c.env_patterns, ['^POD_IP=[0-9a-f.:]+$', '^TOKEN=.*$']);
  assert.deepEqual(c.env_names, ['MODE', 'PATH', 'POD_IP', 'TOKEN']);
  assert.throws(() => container({ envFrom: [{ configMapRef: { name: 'x' } }] }), /K8S_POLICY_ENVFROM|envFrom/);
});

test('capabilities, privileges and the root filesystem from the securityContext', () => {
  assert.deepEqual(container({}).capabilities.Bounding, [...DEFAULT_CAPS].sort());
  assert.deepEqual(
    container({ securityContext: { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }).capabilities
      .Effective,
    ['CAP_NET_BIND_SERVICE'],
  );
  assert.deepEqual(
    container({
      securityContext: { capabilities: { drop: ['NET_RAW', 'CAP_MKNOD'] } },
    }).capabilities.Permitted.includes('CAP_NET_RAW'),
    false,
  );
  const p = container({ securityContext: { privileged: true } });
  assert.ok(p.capabilities.Bounding.includes('CAP_SYS_ADMIN'));
  assert.deepEqual([p.sysfs, p.masked_paths, p.no_new_privileges], ['rw', [], false]);
  const r = container({ securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false } });
  assert.deepEqual(
    [r.readonly_root, r.no_new_privileges, r.mounts.find((m) => m.destination === '/etc/hosts')!.options],
    [true, true, [['rbind', 'rprivate', 'ro']]],
  );
});

test('mounts: each volume kind as the runtime presents it, declared propagation, image volumes, the service-account token unless opted out', () => {
  const pod = {
    volumes: [
      { name: 'd', emptyDir: {} },
      { name: 'm', emptyDir: { medium: 'Memory' } },
      { name: 'cfg.v1', configMap: { name: 'x' } },
      { name: 'h', hostPath: { path: '/var/log' } },
    ],
  };
  const c = container(
    {
      volumeMounts: [
        { name: 'd', mountPath: '/d', mountPropagation: 'HostToContainer' },
        { name: 'm', mountPath: '/m' },
        { name: 'cfg.v1', mountPath: '/cfg', readOnly: true },
        { name: 'h', mountPath: '/logs' },
      ],
    },
    { Entrypoint: ['/e'], Volumes: { '/cache': {} } },
    pod,
  );
  const by = Object.fromEntries(c.mounts.map((m) => [m.destination, m]));
  assert.deepEqual(by['/d'], {
    destination: '/d',
    block: true,
    options: [
      ['rbind', 'rprivate', 'rw'],
      ['rbind', 'rslave', 'rw'],
    ],
  });
  assert.deepEqual(by['/m'], { destination: '/m', memory: 'm', options: [['rbind', 'rprivate', 'rw']] });
  assert.deepEqual(by['/cfg'], { destination: '/cfg', shared: 'cfg\\.v1', options: [['rbind', 'rprivate', 'ro']] });
  assert.deepEqual(by['/logs']!.shared, 'log');
  assert.deepEqual(by['/cache']!.shared, 'cache');
  assert.ok(by['/var/run/secrets/kubernetes.io/serviceaccount']);
  assert.equal(c.block_volumes, 1);
  const noToken = container({}, undefined, { automountServiceAccountToken: false });
  assert.ok(!noToken.mounts.some((m) => m.destination.includes('serviceaccount')));
  assert.throws(
    () => container({ volumeMounts: [{ name: 'nope', mountPath: '/x' }] }),
    /K8S_POLICY_VOLUME|names no volume/,
  );
});

test('pod names per controller, and the spellings of a pinned image', () => {
  const table: Array<[string, Record<string, string>, string, boolean]> = [
    ['Pod', { name: 'web' }, 'web', true],
    ['Pod', { name: 'web' }, 'web2', false],
    ['Pod', { generateName: 'web-' }, 'web-x7k2p', true],
    ['Pod', { generateName: 'web-' }, 'web-', false],
    ['Deployment', { name: 'web' }, 'web-7d9f8b6c5d-x2k4q', true],
    ['Deployment', { name: 'web' }, 'webx-7d9f8b6c5d-x2k4q', false],
    ['StatefulSet', { name: 'db' }, 'db-0', true],
    ['StatefulSet', { name: 'db' }, 'db-a', false],
    ['DaemonSet', { name: 'agent' }, 'agent-x2k4q', true],
    ['Job', { name: 'j' }, 'j-x2k4q', true],
    ['CronJob', { name: 'c' }, 'c-28911620-x2k4q', true],
  ];
  for (const [kind, meta, name, ok] of table)
    assert.equal(new RegExp(sandboxNamePattern(kind, meta)).test(name), ok, `${kind} ${name}`);
  assert.deepEqual(imageNames(`nginx:1.27@${D}`, D), [`docker.io/library/nginx@${D}`, `nginx:1.27@${D}`, `nginx@${D}`]);
  assert.deepEqual(imageNames(`ghcr.io/o/app@${D}`, D), [`ghcr.io/o/app@${D}`]);
  assert.deepEqual(imageNames('ghcr.io/o/app:1', undefined), ['ghcr.io/o/app:1']);
});
