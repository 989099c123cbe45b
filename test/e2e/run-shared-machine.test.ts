/**
 * `cloak run` on a machine shared with other local users (issue #13,
 * findings 2, 3, 4, 10), through the real CLI: secrets unreadable by others
 * and by the image's uid on the host, hostile /etc/passwd links refused,
 * nothing left after TERM/INT/HUP, and a killed run removed by the next.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OciLayout, buildImage } from '../../src/oci/index.ts';
import { DEFAULT_RUN_ROOT, ID_RANGE_BASE, RUNC } from '../../src/runtime/index.ts';
import type { ImageRunConfig } from '../../src/runtime/index.ts';
import { startSimCloak, allowSim, runCloak, spawnCloak, tempDir, type CloakServer } from './harness.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';
import { runDirsOf } from '../support/run-leftovers.ts';

const canRun =
  process.getuid?.() === 0 &&
  spawnSync('runc', ['--version']).status === 0 &&
  existsSync('/bin/busybox') &&
  spawnSync('setpriv', ['--version']).status === 0;
const skip = canRun ? false : 'needs root, runc, busybox-static and setpriv';
// Made here, so that no copy of them is in this file's source (or tsx's cache of it).
const SECRET_FILE = randomBytes(12).toString('hex');
const SECRET_ENV = randomBytes(12).toString('hex');
const MARKER = randomBytes(12).toString('hex');
/** The container waits until the test creates /release in its rootfs. */
const WAIT = 'echo ready; while [ ! -e /release ]; do sleep 0.05; done';

let server: CloakServer;
let dir: ReturnType<typeof tempDir>;
const env = () => ({ CLOAK_SERVER: server.url, CLOAK_TOKEN: server.token });

/** Builds (and with `encrypt`, converts) an image of busybox plus `extra` entries; returns its reference. */
async function image(
  name: string,
  config: ImageRunConfig,
  extra: Parameters<typeof busyboxLayerTar>[0] = [],
  encrypt = false,
): Promise<string> {
  const layout = OciLayout.create(join(dir.path, name));
  await buildImage(layout, 'v1', [await busyboxLayerTar(extra)], config);
  if (!encrypt) return `oci:${layout.dir}:v1`;
  const conv = await runCloak(['convert', `oci:${layout.dir}:v1`, `oci:${layout.dir}-enc:v1`, '--key-id', name], {
    env: env(),
  });
  assert.equal(conv.code, 0, conv.stderr);
  return `oci:${layout.dir}-enc:v1`;
}

const started: Array<ReturnType<typeof spawnCloak>> = [];
const run = (ref: string, ...args: string[]) => {
  const r = spawnCloak(['run', ref, '--sim-dir', join(dir.path, 'sim'), ...args], { env: env() });
  started.push(r);
  return r;
};

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs a command as another local user (no supplementary groups). */
const as = (uid: number, ...cmd: string[]) =>
  spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...cmd], {
    encoding: 'utf8',
    timeout: 120_000,
  });
const containerIdOf = (runDir: string) => readFileSync(join(runDir, 'container'), 'utf8');
const containerExists = (id: string) => spawnSync(RUNC, ['state', id]).status === 0;

before(async () => {
  if (skip) return;
  dir = tempDir('cloak-run-shared-');
  server = await startSimCloak(dir.path);
  await runCloak(['resource', 'set', 'default/secret/msg', '--value', SECRET_FILE], { env: env() });
  await runCloak(['resource', 'set', 'default/secret/api', '--value', SECRET_ENV], { env: env() });
  await allowSim(server);
});
after(async () => {
  // A failed test may leave a run waiting: stop it the way a user would (it cleans up after itself).
  for (const r of started)
    if (r.proc.exitCode === null && r.proc.signalCode === null) {
      r.proc.kill('SIGTERM');
      r.proc.kill('SIGTERM');
      await r.exited;
    }
  await server?.stop();
  dir?.remove();
  if (!skip)
    assert.deepEqual(
      started.flatMap((r) => runDirsOf(r.pid)),
      [],
      'no run of this file left anything',
    );
});

test(
  "while the container runs, neither nobody nor the image's uid on the host can list or read its secrets, config.json or cloak.env; the container reads them as its own uid",
  { skip },
  async () => {
    const ref = await image('secrets', {
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: [
        `id -u; cat /run/cloak/secrets/msg; echo; echo "$API_KEY"; . /run/cloak/secrets/cloak.env && echo "$API_KEY"; ${WAIT}`,
      ],
      User: 'app',
    });
    const r = run(ref, '--secret', 'default/secret/msg:msg', '--secret-env', 'default/secret/api:API_KEY');
    await waitFor('the container', () => r.out.stdout.includes('ready') || r.proc.exitCode !== null);
    assert.equal(r.out.stdout, `1000\n${SECRET_FILE}\n${SECRET_ENV}\n${SECRET_ENV}\nready\n`, r.out.stderr);
    const [runDir] = runDirsOf(r.pid);
    assert.ok(runDir, 'the run has its directory');
    const container = containerIdOf(runDir);
    const pid = JSON.parse(spawnSync(RUNC, ['state', container], { encoding: 'utf8' }).stdout).pid as number;

    // What is there, as root sees it: the run keeps everything in memory, private, in its own host id range.
    assert.equal(statfsSync(runDir).type, 0x01021994, 'the run directory is on tmpfs');
    assert.match(
      readFileSync(join(runDir, 'config.json'), 'utf8'),
      new RegExp(SECRET_ENV),
      'config.json holds the --secret-env value',
    );
    const mode = (p: string) => lstatSync(p).mode & 0o7777;
    assert.equal(mode(DEFAULT_RUN_ROOT), 0o711);
    assert.equal(mode(runDir), 0o710);
    assert.equal(mode(join(runDir, 'config.json')), 0o600);
    assert.equal(mode(join(runDir, 'secrets')), 0o500);
    for (const f of ['msg', 'cloak.env']) {
      assert.equal(mode(join(runDir, 'secrets', f)), 0o400);
      assert.ok(
        lstatSync(join(runDir, 'secrets', f)).uid >= ID_RANGE_BASE + 1000,
        'owned by the mapped uid, not host uid 1000',
      );
    }
    const containerRoot = lstatSync(runDir).gid;
    assert.ok(containerRoot >= ID_RANGE_BASE, "the run directory's group is the container root's host id");
    const owner = (p: string) => {
      const st = lstatSync(join(runDir, p));
      return [st.uid, st.gid];
    };
    for (const p of ['rootfs', 'rootfs/bin', 'rootfs/bin/busybox', 'rootfs/bin/sh', 'rootfs/etc/passwd']) {
      assert.deepEqual(
        owner(p),
        [containerRoot, containerRoot],
        `${p} was unpacked owned by the container root's host id`,
      );
    }
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.ok(
      Number(/^Uid:\s+(\d+)/m.exec(status)![1]) >= ID_RANGE_BASE + 1000,
      'the container process runs as a mapped host uid',
    );

    for (const uid of [65534, 1000]) {
      const who = uid === 65534 ? 'nobody' : "the image's uid 1000";
      assert.notEqual(as(uid, 'ls', DEFAULT_RUN_ROOT).status, 0, `${who} lists ${DEFAULT_RUN_ROOT}`);
      assert.notEqual(as(uid, 'ls', runDir).status, 0, `${who} lists the run directory`);
      for (const f of ['config.json', 'secrets/msg', 'secrets/cloak.env', 'container']) {
        const c = as(uid, 'cat', join(runDir, f));
        assert.notEqual(c.status, 0, `${who} reads ${f}`);
        assert.match(c.stderr, /Permission denied/);
      }
      assert.notEqual(as(uid, 'cat', `/proc/${pid}/environ`).status, 0, `${who} reads the container's environment`);
      const grep = as(
        uid,
        'grep',
        '-rlsF',
        '-e',
        SECRET_FILE,
        '-e',
        SECRET_ENV,
        '/dev/shm',
        tmpdir(),
        '/var/tmp',
        '/run',
      );
      assert.equal(grep.stdout, '', `${who} finds a copy of a secret`);
    }

    writeFileSync(join(runDir, 'rootfs', 'release'), '');
    const done = await r.done;
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(runDirsOf(r.pid), []);
    assert.equal(containerExists(container), false);
  },
);

// The layouts the attack used to read host files as the image's user table.
const HOSTILE: Array<{ name: string; user: string; extra: Parameters<typeof busyboxLayerTar>[0]; message: RegExp }> = [
  {
    name: '/etc/passwd → /dev/zero',
    user: 'app',
    extra: [{ name: 'etc/passwd', linkname: '/dev/zero' }],
    message: /\/etc\/passwd is a symbolic link/,
  },
  {
    name: '/etc/passwd → /etc/shadow',
    user: 'root',
    extra: [{ name: 'etc/passwd', linkname: '/etc/shadow' }],
    message: /\/etc\/passwd is a symbolic link/,
  },
  {
    name: '/etc/passwd → a host-only passwd file',
    user: 'hostonly',
    extra: [{ name: 'etc/passwd', linkname: '@HOST@' }],
    message: /\/etc\/passwd is a symbolic link/,
  },
  {
    name: 'a symlinked /etc',
    user: 'nobody',
    extra: [{ name: 'etc', linkname: '/etc' }],
    message: /\/etc is a symbolic link/,
  },
];

for (const c of HOSTILE) {
  test(`an image whose ${c.name} is refused with a clear error, no crash, nothing left`, { skip }, async () => {
    const host = join(dir.path, 'host-passwd');
    writeFileSync(host, 'hostonly:x:4242:4242::/:/bin/sh\n');
    const extra = c.extra!.map((e) => ({ ...e, linkname: e.linkname?.replace('@HOST@', host) }));
    const ref = await image(
      `hostile-${HOSTILE.indexOf(c)}`,
      { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo container started'], User: c.user },
      extra,
    );
    const r = run(ref);
    const done = await r.done;
    assert.equal(done.code, 1, done.stderr);
    assert.match(done.stderr, /error RUNTIME_USER_TABLE_UNSAFE: /);
    assert.match(done.stderr, c.message);
    assert.doesNotMatch(done.stderr, /bad_alloc|heap|RangeError|at .*\.ts:\d+/);
    assert.equal(done.stdout, '');
    assert.deepEqual(runDirsOf(r.pid), []);
  });
}

let bigImage: Promise<string> | undefined;
/** An encrypted image with enough files that its unpack takes a while. */
const big = () =>
  (bigImage ??= image(
    'big',
    { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo container started'] },
    Array.from({ length: 4000 }, (_, i) => ({ name: `data/d${i % 40}/f${i}`, body: MARKER })),
    true,
  ));

/** Paths created under the temp dir since `before` that hold the plaintext marker. */
function plaintextOnDisk(before: Set<string>): string[] {
  const fresh = readdirSync(tmpdir())
    .map((n) => join(tmpdir(), n))
    .filter((p) => !before.has(p) && !p.startsWith(dir.path));
  if (!fresh.length) return [];
  return spawnSync('grep', ['-rlsF', MARKER, ...fresh], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(
    `${signal} during the unpack: cloak run removes the decrypted rootfs (kept in memory, never on disk) and exits ${signal === 'SIGTERM' ? 143 : 130}`,
    { skip },
    async () => {
      const ref = await big();
      const tmpBefore = new Set(readdirSync(tmpdir()).map((n) => join(tmpdir(), n)));
      const r = run(ref);
      const rootfs = await waitFor('the unpack to start', () => {
        const [d] = runDirsOf(r.pid);
        return d && existsSync(join(d, 'rootfs', 'data')) && join(d, 'rootfs');
      });
      assert.equal(statfsSync(rootfs).type, 0x01021994, 'the decrypted rootfs is on tmpfs');
      r.proc.kill(signal);
      const done = await r.done;
      assert.equal(done.code, signal === 'SIGTERM' ? 143 : 130, done.stderr);
      assert.doesNotMatch(done.stdout, /container started/, 'the signal came during the unpack');
      assert.deepEqual(runDirsOf(r.pid), []);
      assert.deepEqual(plaintextOnDisk(tmpBefore), []);
    },
  );
}

test(
  'SIGTERM while the container runs: passed to the container, which stops; the run directory and container are removed; exit 143',
  { skip },
  async () => {
    const ref = await image('trap', {
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['trap "echo got TERM; exit 0" TERM; echo ready; while :; do sleep 0.05; done'],
    });
    const r = run(ref, '--secret-env', 'default/secret/api:API_KEY');
    await waitFor('the container', () => r.out.stdout.includes('ready'));
    const [runDir] = runDirsOf(r.pid);
    const container = containerIdOf(runDir!);
    r.proc.kill('SIGTERM');
    const done = await r.done;
    assert.equal(done.code, 143, done.stderr);
    assert.match(done.stdout, /got TERM/);
    assert.match(done.stderr, /SIGTERM: passed to the container/);
    assert.deepEqual(runDirsOf(r.pid), []);
    assert.equal(containerExists(container), false);
  },
);

for (const c of [
  { signal: 'SIGINT', how: 'ignored by the container: killed after --stop-timeout', twice: false, code: 130 },
  { signal: 'SIGHUP', how: 'sent twice: the second stops the container at once', twice: true, code: 129 },
] as const) {
  test(`${c.signal} while the container runs, ${c.how}; nothing left`, { skip }, async () => {
    const ref = await image('ignore', {
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo ready; while :; do sleep 0.05; done'],
    });
    const r = run(ref, '--secret', 'default/secret/msg:msg', '--stop-timeout', c.twice ? '600' : '1');
    await waitFor('the container', () => r.out.stdout.includes('ready'));
    const [runDir] = runDirsOf(r.pid);
    const container = containerIdOf(runDir!);
    r.proc.kill(c.signal);
    if (c.twice) {
      await waitFor('the first signal to be passed on', () => r.out.stderr.includes('passed to the container'));
      r.proc.kill(c.signal);
    }
    const done = await r.done;
    assert.equal(done.code, c.code, done.stderr);
    assert.deepEqual(runDirsOf(r.pid), []);
    assert.equal(containerExists(container), false);
  });
}

test(
  "SIGKILL of cloak run: the next cloak run removes the dead run's directory and container and says so; a live run is left alone",
  { skip },
  async () => {
    const ref = await image('killed', { Entrypoint: ['/bin/sh', '-c'], Cmd: [WAIT] });
    const live = run(ref, '--secret', 'default/secret/msg:msg');
    const killed = run(ref, '--secret', 'default/secret/msg:msg');
    await waitFor('both containers', () => live.out.stdout.includes('ready') && killed.out.stdout.includes('ready'));
    const [liveDir] = runDirsOf(live.pid);
    const [deadDir] = runDirsOf(killed.pid);
    const deadContainer = containerIdOf(deadDir!);
    killed.proc.kill('SIGKILL');
    await killed.exited;
    assert.ok(existsSync(join(deadDir!, 'secrets', 'msg')), 'SIGKILL leaves the run directory (in memory) behind');
    assert.equal(containerExists(deadContainer), true, 'and its container running');

    const next = await run(await image('next', { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo next ran'] }), '-q').done;
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.stdout, 'next ran\n');
    assert.ok(
      next.stderr.includes(
        `cloak: removed ${deadDir}, left by a cloak run (pid ${killed.pid}) that was killed, and stopped its container ${deadContainer}`,
      ),
      next.stderr,
    );
    assert.equal(existsSync(deadDir!), false);
    assert.equal(containerExists(deadContainer), false);
    assert.ok(existsSync(join(liveDir!, 'secrets', 'msg')), 'the live run keeps its directory');
    assert.doesNotMatch(next.stderr, new RegExp(`pid ${live.pid}\\b`));

    writeFileSync(join(liveDir!, 'rootfs', 'release'), '');
    const liveDone = await live.done;
    assert.equal(liveDone.code, 0, liveDone.stderr);
    assert.deepEqual(runDirsOf(live.pid), []);
  },
);
