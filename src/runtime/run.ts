import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CloakError } from '../lib/index.ts';
import { unpackLayers } from '../oci/index.ts';
import {
  AgentKbsClient,
  parseWorkloadInitData,
  workloadInitData,
  simAttester,
  checkSecrets,
  writeSecrets,
  type Attester,
  type WorkloadSpec,
} from '../agent/index.ts';
import { runtimeSpec, type ImageRunConfig } from './spec.ts';
import { runBundle, checkRunc, killContainer, deleteContainer } from './runc.ts';
import { resolveUser } from './user.ts';
import { claimIdRange, hostIds, checkMappable } from './id-range.ts';
import { createRunDir, sweepDeadRuns, type RunDir } from './run-dir.ts';
import { cleanupOnInterrupt, deferInterrupt, exitInterrupted, interruptedBy } from './interrupt.ts';

/** An image as `cloak run` needs it: pulled, with layers that open (decrypting with the given keys) as plain tar streams. */
export interface RunnableImage {
  reference: string;
  manifestDigest: string;
  config: ImageRunConfig;
  layers: Array<{ digest: string; keyResources: string[]; open(keys: Map<string, Buffer>): Promise<Readable> }>;
}

export interface RunOptions {
  image: RunnableImage;
  server: string;
  /** Evidence source; default: the simulated TEE in `simDir`. */
  attester?: Attester;
  simDir?: string;
  /** CoCo init-data text; default: built from the image digest and `secrets`. */
  initData?: string;
  name?: string;
  secrets?: Array<{ resource: string; file?: string; env?: string }>;
  env?: string[];
  args?: string[];
  stdio?: 'inherit' | 'pipe';
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  log?: (msg: string) => void;
  /** Messages that must be seen even when `log` is quiet (leftovers of killed runs removed, signals); default: `log`. */
  warn?: (msg: string) => void;
  /** Where run directories live (memory-backed); default /dev/shm/cloak-runs. */
  runRoot?: string;
  /** After TERM/INT/HUP reached the container, how long it may take to exit before it is killed; default 10 s. */
  stopTimeoutMs?: number;
}

export interface RunTimings {
  attestMs: number;
  keysMs: number;
  unpackMs: number;
  runMs: number;
}

/** A DNS-label name from an image reference: oci:./dir/app-enc:v1 → app-enc. */
export function defaultWorkloadName(reference: string): string {
  const path = reference.replace(/^(oci|docker|docker-archive):(\/\/)?/, '').replace(/[:@][^/]*$/, '');
  const base = path.split('/').filter(Boolean).pop() ?? '';
  return (
    base
      .toLowerCase()
      .replace(/[^a-z0-9.-]+/g, '-')
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
      .slice(0, 63) || 'app'
  );
}

/** The init-data `cloak run` presents when none is given: the image it runs and the secrets asked for. */
export function runInitData(
  name: string,
  server: string,
  imageDigest: string,
  secrets: NonNullable<RunOptions['secrets']>,
): string {
  return workloadInitData({ name, server, images: [imageDigest], secrets });
}

/**
 * The whole confidential flow on one machine: attest first (nothing is
 * decrypted before the KBS accepted the evidence), fetch layer keys and
 * secrets, unpack into a private run directory in memory, run with runc in
 * a user namespace of its own, and remove the plaintext rootfs and secrets
 * afterwards, whatever happened: on TERM/INT/HUP too (the process then
 * exits with 128+signo), and a run killed outright is removed by the next.
 */
export async function runConfidential(opts: RunOptions): Promise<{ exitCode: number; timings: RunTimings }> {
  checkRunc();
  const log = opts.log ?? (() => {});
  const warn = opts.warn ?? log;
  const { image } = opts;
  const name = opts.name ?? defaultWorkloadName(image.reference);
  const initData = opts.initData ?? runInitData(name, opts.server, image.manifestDigest, opts.secrets ?? []);
  const workload: WorkloadSpec = parseWorkloadInitData(initData);
  if (workload.images.length && !workload.images.includes(image.manifestDigest)) {
    throw new CloakError(
      'RUN_IMAGE_MISMATCH',
      `the init-data names image ${workload.images.join(', ')}, but ${image.reference} is ${image.manifestDigest}: refusing to run it`,
    );
  }
  for (const m of sweepDeadRuns(opts.runRoot)) warn(m);
  const ids = await claimIdRange();
  let run: RunDir | undefined;
  let container: string | undefined;
  const cleanup = () => {
    if (container) deleteContainer(container);
    run?.remove();
    ids.release();
  };
  const unregister = cleanupOnInterrupt(cleanup);
  try {
    const attester =
      opts.attester ??
      simAttester({
        dir: opts.simDir ?? '.cloak/sim',
        measurement: createHash('sha384').update(image.manifestDigest).digest(),
        initData,
      });
    const client = new AgentKbsClient({ url: opts.server, attester, initData });
    const timings: RunTimings = { attestMs: 0, keysMs: 0, unpackMs: 0, runMs: 0 };

    let t = performance.now();
    log(
      `attesting as workload "${workload.name}" (${attester.tee}${attester.tee === 'sim' ? ', simulated: proves nothing' : ''}) to ${opts.server}`,
    );
    await client.attest();
    timings.attestMs = performance.now() - t;

    t = performance.now();
    const keys = new Map<string, Buffer>();
    for (const layer of image.layers)
      for (const r of layer.keyResources) if (!keys.has(r)) keys.set(r, await client.resource(r));
    const values = new Map<string, Buffer>();
    for (const s of workload.secrets)
      if (!values.has(s.resource)) values.set(s.resource, await client.resource(s.resource));
    checkSecrets(workload.secrets, values); // refuse undeliverable secrets before anything is decrypted to disk
    timings.keysMs = performance.now() - t;
    log(`received ${keys.size} layer key(s) and ${values.size} secret(s) after attestation`);

    t = performance.now();
    run = createRunDir(ids.hostId, opts.runRoot);
    await unpackLayers(
      image.layers.map((l) => () => l.open(keys)),
      run.rootfs,
      { mapIds: hostIds(ids) },
    );
    timings.unpackMs = performance.now() - t;
    log(`decrypted and unpacked ${image.layers.length} layer(s)`);

    const user = resolveUser(run.rootfs, image.config.User);
    checkMappable(user, ids);
    // Only the workload's host ids may read its secrets: directories 0500, files 0400, owned by its mapped uid.
    const { env } = writeSecrets(run.secrets, workload.secrets, values, {
      mode: 0o500,
      owner: { uid: ids.hostId + user.uid, gid: ids.hostId + user.gid },
    });

    t = performance.now();
    const spec = runtimeSpec({
      rootfs: run.rootfs,
      image: image.config,
      args: opts.args,
      env: [...env, ...(opts.env ?? [])],
      secretsDir: run.secrets,
      hostname: workload.name,
      user,
      idMap: ids,
    });
    container = `cloak-${workload.name}-${randomBytes(4).toString('hex')}`;
    run.setContainer(container);
    const exitCode = await whileContainerRuns(container, opts.stopTimeoutMs ?? 10_000, warn, () =>
      runBundle(run!.path, spec, { id: container!, stdio: opts.stdio, onOutput: opts.onOutput }),
    );
    container = undefined; // runBundle deleted it
    timings.runMs = performance.now() - t;
    const signal = interruptedBy();
    if (signal) exitInterrupted(signal);
    return { exitCode, timings };
  } finally {
    cleanup();
    unregister();
  }
}

/** Passes the first TERM/INT/HUP to the container and kills it if it has not exited `stopTimeoutMs` later. */
async function whileContainerRuns(
  container: string,
  stopTimeoutMs: number,
  warn: (m: string) => void,
  run: () => Promise<number>,
): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const release = deferInterrupt((signal) => {
    warn(
      `${signal}: passed to the container, which is stopped in ${stopTimeoutMs / 1000} s unless it exits first (send it again to stop now)`,
    );
    killContainer(container, signal);
    timer = setTimeout(() => exitInterrupted(signal), stopTimeoutMs);
  });
  try {
    return await run();
  } finally {
    release();
    clearTimeout(timer);
  }
}
