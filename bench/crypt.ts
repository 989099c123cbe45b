/**
 * npm run bench:crypt — encrypt and decrypt an image with one generated
 * 1 GiB layer: Cloak (the built CLI, dist/cloak.js) beside skopeo (same
 * image, same run), and beside the machine's limit from `openssl speed` for
 * AES-256-CTR + HMAC-SHA256 on one core (the two passes ocicrypt's cipher
 * needs). Because converting an image also has to digest the plaintext and
 * the ciphertext and to read and write the layer, the run also measures
 * that work's own ceiling on this machine: the larger of a plain `cp` of
 * the layer and all four crypto passes spread over every core. Also the peak
 * memory of Cloak's encryption for a 64 MiB and a 1 GiB layer (flat).
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

const GiB = 1024 ** 3;
const SIZE = Number(process.env.BENCH_LAYER_BYTES ?? GiB);

function opensslRate(args: string[]): number {
  const r = spawnSync('openssl', ['speed', '-seconds', '2', '-bytes', '65536', ...args], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const k = Number(line.trim().split(/\s+/).pop()!.replace(/k$/, ''));
  return k * 1000; // bytes per second
}

/** A layout with one uncompressed tar layer holding `size` random bytes, built with Cloak's own layout code in a child. */
async function makeImage(dir: string, size: number): Promise<void> {
  const tarPath = join(dir, 'layer.tar');
  const out = createWriteStream(tarPath);
  const header = Buffer.alloc(512);
  header.write('data.bin', 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(size.toString(8).padStart(11, '0') + '\0', 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  out.write(header);
  const chunk = randomBytes(1 << 20);
  for (let written = 0; written < size; written += chunk.length) {
    if (!out.write(written + chunk.length <= size ? chunk : chunk.subarray(0, size - written)))
      await once(out, 'drain');
  }
  out.write(Buffer.alloc(((512 - (size % 512)) % 512) + 1024));
  out.end();
  await once(out, 'finish');
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `
    import { OciLayout, MT_CONFIG } from './src/oci/index.ts';
    import { createReadStream } from 'node:fs';
    const l = OciLayout.create(${JSON.stringify(join(dir, 'plain'))});
    const blob = await l.writeBlob(createReadStream(${JSON.stringify(tarPath)}));
    const config = l.writeJson(MT_CONFIG, { os: 'linux', architecture: 'amd64', config: {}, rootfs: { type: 'layers', diff_ids: [blob.digest] } });
    l.tag('v1', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...blob }] });
  `,
    ],
    { encoding: 'utf8', cwd: process.cwd() },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  rmSync(tarPath);
}

/** Runs a command, returns seconds and the peak RSS in MiB (GNU time is not needed: /proc via a wrapper). */
function timed(cmd: string, args: string[]): { s: number; rssMiB: number } {
  const t = performance.now();
  const r = spawnSync(
    'bash',
    [
      '-c',
      `"$@" & pid=$!; peak=0; while kill -0 $pid 2>/dev/null; do r=$(awk '/VmHWM/{print $2}' /proc/$pid/status 2>/dev/null); [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r; sleep 0.05; done; wait $pid; rc=$?; echo "PEAK $peak" >&2; exit $rc`,
      '_',
      cmd,
      ...args,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const peak = Number(/PEAK (\d+)/.exec(r.stderr)?.[1] ?? 0);
  return { s: (performance.now() - t) / 1000, rssMiB: peak / 1024 };
}

const cloak = (...a: string[]) => timed(process.execPath, ['dist/cloak.js', ...a]);
const skopeo = (...a: string[]) => timed('skopeo', ['--insecure-policy', 'copy', ...a]);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-bench-crypt-'));
  try {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'priv.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const aes = opensslRate(['-evp', 'aes-256-ctr']);
    const hmac = opensslRate(['-hmac', 'sha256']);
    const sha = opensslRate(['-evp', 'sha256']);
    const limit = 1 / (1 / aes + 1 / hmac); // both passes over every byte, one core
    console.log(
      `openssl speed: AES-256-CTR ${(aes / 1e9).toFixed(2)} GB/s, HMAC-SHA256 ${(hmac / 1e9).toFixed(2)} GB/s, SHA-256 ${(sha / 1e9).toFixed(2)} GB/s → limit ${(limit / 1e9).toFixed(2)} GB/s`,
    );
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build failed: ${build.stderr}`);

    await makeImage(dir, SIZE);
    const gb = SIZE / 1e9;
    const blob = spawnSync('bash', ['-c', `ls -S ${join(dir, 'plain', 'blobs', 'sha256')}/* | head -1`], {
      encoding: 'utf8',
    }).stdout.trim();
    const cp = timed('cp', [blob, join(dir, 'copy')]);
    rmSync(join(dir, 'copy'));
    const cores = availableParallelism();
    const cryptoS = (SIZE / aes + 3 * (SIZE / sha)) / cores; // AES, HMAC, plaintext and ciphertext digests, on every core
    const ceilingS = Math.max(cp.s, cryptoS);
    const startup = timed(process.execPath, ['dist/cloak.js', '--version']);
    console.log(
      `this work's ceiling here: max(cp ${cp.s.toFixed(2)} s, 4 crypto passes on ${cores} cores ${cryptoS.toFixed(2)} s) = ${ceilingS.toFixed(2)} s = ${(gb / ceilingS).toFixed(2)} GB/s = ${(gb / ceilingS / (limit / 1e9)).toFixed(2)} of the openssl limit; cloak start-up ${startup.s.toFixed(2)} s`,
    );
    const p = (x: string) => `oci:${join(dir, x)}:v1`;
    const ce = cloak('convert', p('plain'), p('cloak-enc'), '--recipient', `jwe:${join(dir, 'pub.pem')}`);
    const se = skopeo('--encryption-key', `jwe:${join(dir, 'pub.pem')}`, p('plain'), p('skopeo-enc'));
    // Each decrypts both images: Cloak's (the layer encrypted as it was) and skopeo's (skopeo gzips the layer first).
    const cd = cloak('image', 'decrypt', p('cloak-enc'), p('cloak-dec'), '--key', join(dir, 'priv.pem'));
    const sd = skopeo('--decryption-key', join(dir, 'priv.pem'), p('cloak-enc'), p('skopeo-dec'));
    const cdz = cloak('image', 'decrypt', p('skopeo-enc'), p('cloak-dec-z'), '--key', join(dir, 'priv.pem'));
    const sdz = skopeo('--decryption-key', join(dir, 'priv.pem'), p('skopeo-enc'), p('skopeo-dec-z'));
    const row = (name: string, c: { s: number; rssMiB: number }, s: { s: number }) =>
      `| ${name} | ${(gb / c.s).toFixed(2)} GB/s (${c.s.toFixed(1)} s, peak ${c.rssMiB.toFixed(0)} MiB) | ${(gb / s.s).toFixed(2)} GB/s (${s.s.toFixed(1)} s) | ${(s.s / c.s).toFixed(2)}× | ${(gb / c.s / (limit / 1e9)).toFixed(2)} | ${(ceilingS / c.s).toFixed(2)} |`;
    console.log(`\nlayer: ${(SIZE / GiB).toFixed(2)} GiB of random bytes, uncompressed tar, RSA-2048 jwe recipient`);
    console.log(
      "| | Cloak | skopeo | Cloak speed-up | Cloak / openssl limit | Cloak / this work's ceiling |\n|---|---|---|---|---|---|",
    );
    console.log(row('encrypt', ce, se));
    console.log(row("decrypt (Cloak's image)", cd, sd));
    console.log(row("decrypt (skopeo's image: gzip inside)", cdz, sdz));

    const small = mkdtempSync(join(tmpdir(), 'cloak-bench-crypt-small-'));
    try {
      writeFileSync(join(small, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      await makeImage(small, 64 * 1024 * 1024);
      const m = timed(process.execPath, [
        'dist/cloak.js',
        'convert',
        `oci:${join(small, 'plain')}:v1`,
        `oci:${join(small, 'enc')}:v1`,
        '--recipient',
        `jwe:${join(small, 'pub.pem')}`,
      ]);
      console.log(
        `\npeak memory of cloak convert: ${m.rssMiB.toFixed(0)} MiB for 64 MiB, ${ce.rssMiB.toFixed(0)} MiB for ${(SIZE / GiB).toFixed(2)} GiB`,
      );
    } finally {
      rmSync(small, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
