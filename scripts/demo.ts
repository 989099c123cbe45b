/**
 * npm run demo — the whole confidential flow on this machine, narrated:
 * an embedded Cloak server, a tiny image built from busybox-static, its
 * layer encrypted, a secret stored, and the image run under the simulated
 * TEE with runc. The container prints the secret it received only after
 * attestation. Needs root (runc) and busybox-static.
 */
import { mkdtempSync, rmSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadServerConfig, startServer } from '../src/server/index.ts';
import { createSimHardware } from '../src/attest/index.ts';
import { INSECURE_DEV_ATTESTATION_POLICY } from '../src/policy/index.ts';
import { OciLayout, buildImage, encryptImage } from '../src/oci/index.ts';
import { openRunnableImage, runConfidential, checkRunc } from '../src/runtime/index.ts';
import { busyboxLayerTar } from '../test/support/busybox-layer.ts';
import { isCloakError } from '../src/lib/index.ts';

const step = (n: number, text: string) => process.stderr.write(`\n[${n}/6] ${text}\n`);
const note = (text: string) => process.stderr.write(`      ${text}\n`);

/** What the demo needs from the machine, checked before it starts anything. */
function missingNeeds(): { root: boolean; packages: string[] } {
  const packages: string[] = [];
  try {
    checkRunc();
  } catch (e) {
    if (isCloakError(e, 'RUNTIME_NO_RUNC')) packages.push('runc (it runs the container)');
  }
  if (!existsSync('/bin/busybox')) packages.push('busybox-static (the demo builds its image from /bin/busybox)');
  return { root: process.getuid?.() === 0, packages };
}

async function main(): Promise<number> {
  const { root, packages } = missingNeeds();
  if (packages.length)
    process.stderr.write(
      `demo: missing Debian packages: ${packages.join(', ')}.\nRun \`npm run setup\` as root first: it installs them, saying why.\n`,
    );
  if (!root)
    process.stderr.write(
      'demo: needs root: runc starts the container in a user namespace of its own. Run it as root (sudo npm run demo).\n',
    );
  if (packages.length || !root) return 2;
  const work = mkdtempSync(join(tmpdir(), 'cloak-demo-'));
  const server = await (async () => {
    step(1, 'Starting an embedded Cloak server (SQLite in a temp dir, loopback only)');
    const simDir = join(work, 'sim');
    const hw = await createSimHardware();
    mkdirSync(simDir);
    writeFileSync(join(simDir, 'root.pem'), hw.rootCertPem);
    writeFileSync(join(simDir, 'device.pem'), hw.deviceCertPem);
    writeFileSync(join(simDir, 'device.key'), hw.deviceKeyPem, { mode: 0o600 });
    note('SIMULATED TEE: a made-up vendor root and device key. It proves nothing;');
    note('real deployments verify AMD SEV-SNP / Intel TDX / SGX / Azure vTPM evidence.');
    const s = await startServer(
      loadServerConfig(
        { listen: '127.0.0.1:0', data: join(work, 'data'), simRoots: [join(simDir, 'root.pem')], logLevel: 'warn' },
        {},
      ),
    );
    note(`listening on ${s.url}`);
    return s;
  })();
  try {
    await server.store.setPolicy('attestation', INSECURE_DEV_ATTESTATION_POLICY);
    note(
      "attestation policy: allowInsecure: [sim] (development only: the simulated TEE and nothing else, not CoCo's keyless sample; the default admits neither)",
    );

    step(2, 'Building a tiny image from busybox-static (an unmodified app: a shell script entrypoint)');
    const plain = OciLayout.create(join(work, 'app'));
    await buildImage(plain, 'v1', [await busyboxLayerTar()], {
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: [
        'echo "app: my database password is \'$(cat /run/cloak/secrets/db-password)\' (I read it from /run/cloak/secrets)"',
      ],
      User: 'app',
    });
    note(`oci:${plain.dir}:v1`);

    step(3, 'Encrypting its layer (ocicrypt AES_256_CTR_HMAC_SHA256); the key-encryption key goes to the server');
    const kek = randomBytes(32);
    await server.store.putResource('default/key/demo', kek);
    const enc = OciLayout.create(join(work, 'app-enc'));
    const r = await encryptImage(plain, 'v1', enc, 'v1', { attestationAgent: { kek, kid: 'kbs:///default/key/demo' } });
    note(`oci:${enc.dir}:v1 (${r.encrypted} layer encrypted, key at kbs:///default/key/demo)`);

    step(4, "Storing the app's secret in the server (sealed at rest)");
    await server.store.putResource(
      'default/secret/db-password',
      Buffer.from('hunter2-' + randomBytes(3).toString('hex')),
    );
    note('default/secret/db-password');

    step(5, 'Running the image: attest (sim) → layer key + secret released → decrypt → runc');
    const { exitCode, timings } = await runConfidential({
      image: await openRunnableImage(`oci:${enc.dir}:v1`),
      server: server.url,
      simDir: join(work, 'sim'),
      secrets: [{ resource: 'default/secret/db-password', file: 'db-password' }],
      log: note,
    });
    note(
      `container exited ${exitCode} (attest ${timings.attestMs.toFixed(0)} ms, keys ${timings.keysMs.toFixed(0)} ms, decrypt+unpack ${timings.unpackMs.toFixed(0)} ms, run ${timings.runMs.toFixed(0)} ms)`,
    );

    step(6, 'Cleaning up: the plaintext rootfs and secrets were removed when the container exited');
    const audit = await server.store.queryAudit({ limit: 100 });
    note(`audit log: ${audit.map((a) => `${a.kind}:${a.outcome}`).join(', ')}`);
    return exitCode;
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`demo failed: ${e.message}\n`);
    process.exitCode = 1;
  },
);
