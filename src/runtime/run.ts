import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync, chownSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { CloakError, workloadInitData } from '../lib/index.ts';
import { unpackLayers } from '../oci/index.ts';
import { AgentKbsClient, parseWorkloadInitData, simAttester, shellQuote, ENV_FILE, type Attester, type WorkloadSpec } from '../agent/index.ts';
import { runtimeSpec, type ImageRunConfig } from './spec.ts';
import { runBundle, checkRunc } from './runc.ts';
import { resolveUser } from './user.ts';

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
  workDir?: string;
}

export interface RunTimings { attestMs: number; keysMs: number; unpackMs: number; runMs: number }

/** A DNS-label name from an image reference: oci:./dir/app-enc:v1 → app-enc. */
export function defaultWorkloadName(reference: string): string {
  const path = reference.replace(/^(oci|docker|docker-archive):(\/\/)?/, '').replace(/[:@][^/]*$/, '');
  const base = path.split('/').filter(Boolean).pop() ?? '';
  return base.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '').slice(0, 63) || 'app';
}

/** The init-data `cloak run` presents when none is given: the image it runs and the secrets asked for. */
export function runInitData(name: string, server: string, imageDigest: string, secrets: NonNullable<RunOptions['secrets']>): string {
  return workloadInitData({ name, server, images: [imageDigest], secrets });
}

/**
 * The whole confidential flow on one machine: attest first (nothing is
 * decrypted before the KBS accepted the evidence), fetch layer keys and
 * secrets, unpack into a private rootfs, run with runc, and remove the
 * plaintext rootfs and secrets afterwards, whatever happened.
 */
export async function runConfidential(opts: RunOptions): Promise<{ exitCode: number; timings: RunTimings }> {
  checkRunc();
  const log = opts.log ?? (() => {});
  const { image } = opts;
  const name = opts.name ?? defaultWorkloadName(image.reference);
  const initData = opts.initData ?? runInitData(name, opts.server, image.manifestDigest, opts.secrets ?? []);
  const workload: WorkloadSpec = parseWorkloadInitData(initData);
  if (workload.images.length && !workload.images.includes(image.manifestDigest)) {
    throw new CloakError('RUN_IMAGE_MISMATCH', `the init-data names image ${workload.images.join(', ')}, but ${image.reference} is ${image.manifestDigest}: refusing to run it`);
  }
  const attester = opts.attester ?? simAttester({ dir: opts.simDir ?? '.cloak/sim', measurement: createHash('sha384').update(image.manifestDigest).digest(), initData });
  const client = new AgentKbsClient({ url: opts.server, attester, initData });
  const timings: RunTimings = { attestMs: 0, keysMs: 0, unpackMs: 0, runMs: 0 };

  let t = performance.now();
  log(`attesting as workload "${workload.name}" (${attester.tee}${attester.tee === 'sim' ? ', simulated: proves nothing' : ''}) to ${opts.server}`);
  await client.attest();
  timings.attestMs = performance.now() - t;

  t = performance.now();
  const keys = new Map<string, Buffer>();
  for (const layer of image.layers) for (const r of layer.keyResources) if (!keys.has(r)) keys.set(r, await client.resource(r));
  const values = new Map<string, Buffer>();
  for (const s of workload.secrets) if (!values.has(s.resource)) values.set(s.resource, await client.resource(s.resource));
  timings.keysMs = performance.now() - t;
  log(`received ${keys.size} layer key(s) and ${values.size} secret(s) after attestation`);

  const work = mkdtempSync(join(opts.workDir ?? tmpdir(), 'cloak-run-'));
  // The bundle (config.json may hold secret variables) and the secrets live in memory.
  const bundle = mkdtempSync(join('/dev/shm', 'cloak-bundle-'));
  const secretsDir = join(bundle, 'secrets');
  mkdirSync(secretsDir, { mode: 0o700 });
  try {
    t = performance.now();
    const rootfs = join(work, 'rootfs');
    await unpackLayers(image.layers.map((l) => () => l.open(keys)), rootfs);
    timings.unpackMs = performance.now() - t;
    log(`decrypted and unpacked ${image.layers.length} layer(s)`);

    const user = resolveUser(rootfs, image.config.User);
    const env: string[] = [];
    for (const s of workload.secrets) {
      const value = values.get(s.resource)!;
      if (s.file) {
        const path = join(secretsDir, s.file);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, value, { mode: 0o400 });
        chownSync(path, user.uid, user.gid);
      } else if (s.env) {
        env.push(`${s.env}=${value.toString('utf8')}`);
      }
    }
    if (env.length) writeFileSync(join(secretsDir, ENV_FILE), env.map((e) => `${e.slice(0, e.indexOf('='))}=${shellQuote(e.slice(e.indexOf('=') + 1))}`).join('\n') + '\n', { mode: 0o400 });
    chmodSync(secretsDir, 0o755);
    chmodSync(bundle, 0o711);

    t = performance.now();
    const spec = runtimeSpec({ rootfs, image: image.config, args: opts.args, env: [...env, ...(opts.env ?? [])], secretsDir, hostname: workload.name });
    const exitCode = await runBundle(bundle, spec, { id: `cloak-${workload.name}-${randomBytes(4).toString('hex')}`, stdio: opts.stdio, onOutput: opts.onOutput });
    timings.runMs = performance.now() - t;
    return { exitCode, timings };
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(bundle, { recursive: true, force: true });
  }
}
