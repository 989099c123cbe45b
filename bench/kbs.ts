/**
 * npm run bench:kbs — complete KBS handshakes (auth → attest → resource,
 * sim TEE, EC P-256 TEE key) per second and p50/p99 latency at 1, 16 and 64
 * concurrent clients over HTTP against `cloak serve` in its own process,
 * beside the in-process cost of the server's cryptography alone per
 * handshake (sim report chain + signature check, ES256 token sign + verify,
 * ECDH-ES JWE), which is the limit one server core can reach.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import {
  createSimHardware,
  simAttest,
  simVerifier,
  runtimeDataDigest,
  fitDigest,
  VerifyCache,
} from '../src/attest/index.ts';
import { encryptToTee } from '../src/kbs/index.ts';
import { SignJWT, jwtVerify } from 'jose';
import { startSimCloak, allowSim, setResource, tempDir } from '../test/e2e/harness.ts';
import { KbsClient, teeKey, attestPayload } from '../test/e2e/kbs-client.ts';
import { readSimDevice, teeEvidence } from '../test/e2e/tee-evidence.ts';

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 8) * 1000;
const LEVELS = [1, 16, 64];

async function cryptoOnlyPerSecond(hw: Awaited<ReturnType<typeof createSimHardware>>): Promise<number> {
  const key = teeKey('EC');
  const { privateKey: tokenKey, publicKey: tokenPub } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const nonce = 'x'.repeat(44);
  const evidence = simAttest(
    {
      version: 1,
      debug: false,
      tcb: 1n,
      measurement: Buffer.alloc(48),
      hostData: Buffer.alloc(32),
      reportData: fitDigest(runtimeDataDigest(nonce, key.jwk), 64),
    },
    hw,
  );
  const ctx = { now: new Date(), trust: { sim: { roots: [hw.rootCertPem] } }, cache: new VerifyCache() };
  const one = async () => {
    await simVerifier.verify(evidence, ctx);
    runtimeDataDigest(nonce, key.jwk);
    const jwt = await new SignJWT({ a: 1 }).setProtectedHeader({ alg: 'ES256' }).sign(tokenKey);
    await jwtVerify(jwt, tokenPub);
    await encryptToTee(key.jwk as any, Buffer.from('s3cret'));
  };
  for (let i = 0; i < 50; i++) await one();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < 3000) {
    await one();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

async function main() {
  const simDir = tempDir('cloak-bench-sim-');
  const server = await startSimCloak(simDir.path);
  const device = readSimDevice(join(simDir.path, 'sim'));
  const hw = { ...device, rootCertPem: readFileSync(join(simDir.path, 'sim', 'root.pem'), 'utf8') };
  // The development policy README tells `cloak run` users to set (the default, admitting sim).
  await allowSim(server);
  await setResource(server, 'default/secret/bench', 's3cret');

  const keys = Array.from({ length: 64 }, () => teeKey('EC'));
  const handshake = async (i: number) => {
    const client = new KbsClient(server.url);
    const key = keys[i % keys.length]!;
    const { nonce } = await client.auth('sim');
    const ev = teeEvidence('sim', nonce!, key, device);
    const a = await client.attest(attestPayload(nonce!, key, ev));
    if (a.status !== 200) throw new Error(`attest ${a.status} ${JSON.stringify(a.body)}`);
    const r = await client.resource('default/secret/bench', 'cookie');
    if (r.status !== 200) throw new Error(`resource ${r.status}`);
  };

  const limit = await cryptoOnlyPerSecond(hw);
  const rows: string[] = [];
  console.log(
    `server crypto alone: ${limit.toFixed(0)} handshakes/s on one core (${cpus().length} cores, ${cpus()[0]?.model})`,
  );
  for (const c of LEVELS) {
    for (let i = 0; i < c; i++) await handshake(i); // warm-up
    const lat: number[] = [];
    const end = performance.now() + DURATION_MS;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: c }, async (_, w) => {
        for (let i = w; performance.now() < end; i += c) {
          const t = performance.now();
          await handshake(i);
          lat.push(performance.now() - t);
        }
      }),
    );
    const secs = (performance.now() - start) / 1000;
    lat.sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
    const rate = lat.length / secs;
    const row = `| ${c} | ${rate.toFixed(0)} | ${q(0.5).toFixed(1)} | ${q(0.99).toFixed(1)} | ${(rate / limit).toFixed(2)} |`;
    rows.push(row);
    console.log(
      `concurrency ${c}: ${rate.toFixed(0)} handshakes/s, p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, ratio to crypto limit ${(rate / limit).toFixed(2)}`,
    );
  }
  console.log(
    '\n| clients | handshakes/s | p50 ms | p99 ms | ratio to crypto-only limit |\n|---|---|---|---|---|\n' +
      rows.join('\n'),
  );
  await server.stop();
  simDir.remove();
}

await main();
