/**
 * npm run bench:run — start-to-exit time of a small container under
 * `cloak run` (sim attestation, layer key + secret from the KBS, decrypt,
 * unpack, runc in a user namespace) beside two peers measured in the same
 * run on the same unpacked image: plain `runc run` (no user namespace, as
 * one runs a container without Cloak) and `runc run` in a user namespace and
 * private run directory exactly as `cloak run` sets them up. Prints the
 * ratios against both and the added milliseconds (against the second, so
 * the split is Cloak's own flow) as attest / keys / decrypt+unpack / rest.
 * Goal: under 150 ms added besides decryption.
 */
import { chownSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { loadServerConfig, startServer } from '../src/server/index.ts';
import { createSimHardware } from '../src/attest/index.ts';
import { INSECURE_DEV_ATTESTATION_POLICY } from '../src/policy/index.ts';
import { OciLayout, buildImage, encryptImage, unpackLayers } from '../src/oci/index.ts';
import {
  openRunnableImage,
  runConfidential,
  runtimeSpec,
  runBundle,
  checkRunc,
  claimIdRange,
  hostIds,
  createRunDir,
} from '../src/runtime/index.ts';
import { busyboxLayerTar } from '../test/support/busybox-layer.ts';

const N = Number(process.env.BENCH_RUNS ?? 20);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  checkRunc();
  const work = mkdtempSync(join(tmpdir(), 'cloak-bench-run-'));
  const hw = await createSimHardware();
  mkdirSync(join(work, 'sim'));
  writeFileSync(join(work, 'sim', 'root.pem'), hw.rootCertPem);
  writeFileSync(join(work, 'sim', 'device.pem'), hw.deviceCertPem);
  writeFileSync(join(work, 'sim', 'device.key'), hw.deviceKeyPem);
  const server = await startServer(
    loadServerConfig(
      { listen: '127.0.0.1:0', data: join(work, 'data'), simRoots: [join(work, 'sim', 'root.pem')], logLevel: 'warn' },
      {},
    ),
  );
  try {
    await server.store.setPolicy('attestation', INSECURE_DEV_ATTESTATION_POLICY);
    await server.store.putResource('default/secret/s', Buffer.from('s3cret'));
    const kek = randomBytes(32);
    await server.store.putResource('default/key/bench', kek);
    const layer = await busyboxLayerTar();
    const config = { Entrypoint: ['/bin/sh', '-c'], Cmd: ['cat /run/cloak/secrets/s > /dev/null'] };
    const plain = OciLayout.create(join(work, 'plain'));
    await buildImage(plain, 'v1', [layer], config);
    const enc = OciLayout.create(join(work, 'enc'));
    await encryptImage(plain, 'v1', enc, 'v1', { attestationAgent: { kek, kid: 'kbs:///default/key/bench' } });
    const layerBytes = readLayer(plain);

    // Baseline: plain runc on an already unpacked bundle.
    const bundle = join(work, 'bundle');
    mkdirSync(bundle);
    await unpackLayers([() => Readable.from([gunzipSync(layerBytes)])], join(bundle, 'rootfs'));
    const secrets = join(bundle, 'secrets');
    mkdirSync(secrets);
    writeFileSync(join(secrets, 's'), 's3cret');
    const spec = runtimeSpec({ rootfs: join(bundle, 'rootfs'), image: config, secretsDir: secrets });

    // Peer 2: the same container in a user namespace and run directory of its own, as cloak run makes them.
    const ids = await claimIdRange();
    const nsRun = createRunDir(ids.hostId);
    await unpackLayers([() => Readable.from([gunzipSync(layerBytes)])], nsRun.rootfs, { mapIds: hostIds(ids) });
    mkdirSync(nsRun.secrets, { mode: 0o500 });
    writeFileSync(join(nsRun.secrets, 's'), 's3cret', { mode: 0o400 });
    for (const p of [nsRun.secrets, join(nsRun.secrets, 's')]) chownSync(p, ids.hostId, ids.hostId);
    const nsSpec = runtimeSpec({ rootfs: nsRun.rootfs, image: config, secretsDir: nsRun.secrets, idMap: ids });

    const runc: number[] = [];
    const runcNs: number[] = [];
    const cloak: Array<{ total: number; attest: number; keys: number; unpack: number }> = [];
    try {
      for (let i = 0; i < N + 2; i++) {
        let t = performance.now();
        const code = await runBundle(bundle, spec, { id: `bench-runc-${i}`, stdio: 'pipe' });
        if (code !== 0) throw new Error(`runc exited ${code}`);
        if (i >= 2) runc.push(performance.now() - t);
        t = performance.now();
        const nsCode = await runBundle(nsRun.path, nsSpec, { id: `bench-runc-userns-${i}`, stdio: 'pipe' });
        if (nsCode !== 0) throw new Error(`runc in a user namespace exited ${nsCode}`);
        if (i >= 2) runcNs.push(performance.now() - t);
        t = performance.now();
        const r = await runConfidential({
          image: await openRunnableImage(`oci:${enc.dir}:v1`),
          server: server.url,
          simDir: join(work, 'sim'),
          secrets: [{ resource: 'default/secret/s', file: 's' }],
          stdio: 'pipe',
        });
        if (r.exitCode !== 0) throw new Error(`cloak run exited ${r.exitCode}`);
        if (i >= 2)
          cloak.push({
            total: performance.now() - t,
            attest: r.timings.attestMs,
            keys: r.timings.keysMs,
            unpack: r.timings.unpackMs,
          });
      }
    } finally {
      nsRun.remove();
      ids.release();
    }
    const plainBase = median(runc);
    const base = median(runcNs);
    const total = median(cloak.map((c) => c.total));
    const attest = median(cloak.map((c) => c.attest));
    const keys = median(cloak.map((c) => c.keys));
    const unpack = median(cloak.map((c) => c.unpack));
    const added = total - base;
    const rest = added - attest - keys - unpack;
    console.log(
      `runs: ${N} each, interleaved, medians; image: one busybox-static layer (${(layer.length / 1024).toFixed(0)} KiB tar)`,
    );
    console.log(`plain runc run:              ${plainBase.toFixed(1)} ms`);
    console.log(
      `runc run, user namespace:    ${base.toFixed(1)} ms  (the namespace adds ${(base - plainBase).toFixed(1)} ms)`,
    );
    console.log(
      `cloak run:                   ${total.toFixed(1)} ms  (ratio ${(total / plainBase).toFixed(2)}x plain runc, ${(total / base).toFixed(2)}x runc in the same user namespace)`,
    );
    console.log(
      `added to runc, same userns:  ${added.toFixed(1)} ms = attest ${attest.toFixed(1)} + keys ${keys.toFixed(1)} + decrypt+unpack ${unpack.toFixed(1)} + rest ${rest.toFixed(1)}`,
    );
    console.log(`added besides decryption:    ${(added - unpack).toFixed(1)} ms (goal < 150 ms)`);
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

function readLayer(layout: OciLayout): Buffer {
  const { manifest } = layout.resolve('v1');
  return readFileSync(layout.blobPath(manifest.layers[0]!.digest));
}

await main();
