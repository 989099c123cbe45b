import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { x509 } from '../../src/lib/index.ts';
import { OciLayout, buildImage } from '../../src/oci/index.ts';
import { runCloak, tempDir } from './harness.ts';
import { busyboxLayerTar } from '../support/busybox-layer.ts';
import { REGISTRY_BIN, registrySkopeoSkip } from '../support/registry.ts';
import { freePort } from '../support/net.ts';

// Asynchronous: the token service runs in this process, so a blocking spawnSync would deadlock skopeo's token request.
function skopeo(...args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('skopeo', ['--insecure-policy', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 120_000,
    });
    let stderr = '';
    p.stderr!.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stderr }));
  });
}

// docker-registry configured for token auth (the Docker Hub / GHCR flow): 401 + WWW-Authenticate: Bearer realm=…,
// a token service (a small fastify app here, on loopback) that checks Basic credentials and issues ES256 JWTs whose
// x5c certificate the registry trusts through its rootcertbundle.
const skip = registrySkopeoSkip();
const SERVICE = 'cloak-test-registry';
const ISSUER = 'cloak-test-issuer';
const USER = 'alice';
const PASSWORD = 'wonderland';

let dir: ReturnType<typeof tempDir>;
let tokens: FastifyInstance;
let registryProc: ChildProcess;
let host: string;
const tokenRequests: Array<{ user?: string; scope: string[] }> = [];
let plain: OciLayout;
let pub: string;
let priv: string;

before(async () => {
  if (skip) return;
  dir = tempDir('cloak-oci-auth-');
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=cloak test token issuer (self-made for this test)',
    keys,
    signingAlgorithm: alg,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 86400_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  writeFileSync(join(dir.path, 'root.pem'), cert.toString('pem'));

  tokens = Fastify();
  tokens.get('/token', async (req, reply) => {
    const q = req.query as { scope?: string | string[]; service?: string };
    const basic = req.headers.authorization?.startsWith('Basic ')
      ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString()
      : undefined;
    const scope = [q.scope ?? []]
      .flat()
      .flatMap((s) => s.split(' '))
      .filter(Boolean);
    tokenRequests.push({ user: basic?.split(':')[0], scope });
    if (basic !== `${USER}:${PASSWORD}`) return reply.code(401).send({ details: 'bad credentials' });
    const access = scope.map((s) => {
      const [type, name, actions] = s.split(':');
      return { type, name, actions: actions!.split(',') };
    });
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', x5c: [Buffer.from(cert.rawData).toString('base64')] })
      .setIssuer(ISSUER)
      .setAudience(q.service ?? SERVICE)
      .setSubject(USER)
      .setIssuedAt()
      .setNotBefore('-1m')
      .setExpirationTime('5m')
      .setJti(String(tokenRequests.length))
      .sign(keys.privateKey);
    return { token, access_token: token, expires_in: 300 };
  });
  const realm = `${await tokens.listen({ host: '127.0.0.1', port: 0 })}/token`;

  const port = await freePort();
  host = `127.0.0.1:${port}`;
  mkdirSync(join(dir.path, 'data'));
  writeFileSync(
    join(dir.path, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dir.path}/data`,
      'http:',
      `  addr: ${host}`,
      'auth:',
      '  token:',
      `    realm: ${realm}`,
      `    service: ${SERVICE}`,
      `    issuer: ${ISSUER}`,
      `    rootcertbundle: ${dir.path}/root.pem`,
      '',
    ].join('\n'),
  );
  registryProc = spawn(REGISTRY_BIN, ['serve', join(dir.path, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://${host}/v2/`)).status === 401) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync((pub = join(dir.path, 'rsa.pub')), rsa.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync((priv = join(dir.path, 'rsa.pem')), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  plain = OciLayout.create(join(dir.path, 'plain'));
  await buildImage(
    plain,
    'v1',
    [await busyboxLayerTar(), await busyboxLayerTar([{ name: 'etc/motd', body: 'auth\n' }])],
    { Cmd: ['/bin/sh'] },
  );
  const s = await skopeo(
    'copy',
    '--dest-tls-verify=false',
    '--dest-creds',
    `${USER}:${PASSWORD}`,
    `oci:${plain.dir}:v1`,
    `docker://${host}/app:v1`,
  );
  assert.equal(s.status, 0, s.stderr);
});
after(async () => {
  if (registryProc) {
    registryProc.kill('SIGTERM');
    await new Promise((r) => registryProc.once('exit', r));
  }
  await tokens?.close();
  dir?.remove();
});

const digests = (d: string) =>
  OciLayout.open(d)
    .resolve('v1')
    .manifest.layers.map((l) => l.digest);

test(
  'bearer-token registry: convert with --creds pulls and pushes through the WWW-Authenticate flow; skopeo decrypts the result',
  { skip },
  async () => {
    tokenRequests.length = 0;
    const r = await runCloak([
      'convert',
      `docker://${host}/app:v1`,
      `docker://${host}/team/app-enc:v1`,
      '--recipient',
      `jwe:${pub}`,
      '--creds',
      `${USER}:${PASSWORD}`,
      '--tls-verify=false',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(tokenRequests.length >= 2 && tokenRequests.every((t) => t.user === USER), JSON.stringify(tokenRequests));
    assert.ok(
      tokenRequests.some((t) => t.scope.includes('repository:app:pull')),
      'pull token for the source',
    );
    assert.ok(
      tokenRequests.some((t) => t.scope.some((s) => s.startsWith('repository:team/app-enc:') && s.includes('push'))),
      'push token for the destination',
    );
    const out = join(dir.path, 'skopeo-dec');
    const s = await skopeo(
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      `${USER}:${PASSWORD}`,
      '--decryption-key',
      priv,
      `docker://${host}/team/app-enc:v1`,
      `oci:${out}:v1`,
    );
    assert.equal(s.status, 0, s.stderr);
    assert.deepEqual(digests(out), digests(plain.dir));
  },
);

test(
  'bearer-token registry: credentials from $DOCKER_CONFIG/config.json; wrong or missing credentials are OCI_REGISTRY_DENIED',
  { skip },
  async () => {
    const cfg = join(dir.path, 'docker');
    mkdirSync(cfg, { recursive: true });
    writeFileSync(
      join(cfg, 'config.json'),
      JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }),
    );
    const out = join(dir.path, 'cloak-dec');
    const ok = await runCloak(
      ['image', 'decrypt', `docker://${host}/team/app-enc:v1`, `oci:${out}:v1`, '--key', priv, '--tls-verify=false'],
      { env: { DOCKER_CONFIG: cfg } },
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(digests(out), digests(plain.dir));

    const wrong = await runCloak(
      ['image', 'inspect', `docker://${host}/app:v1`, '--tls-verify=false', '--creds', `${USER}:nope`],
      { env: { DOCKER_CONFIG: join(dir.path, 'none') } },
    );
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /OCI_REGISTRY_DENIED/);
    const anonymous = await runCloak(['image', 'inspect', `docker://${host}/app:v1`, '--tls-verify=false'], {
      env: { DOCKER_CONFIG: join(dir.path, 'none') },
    });
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /OCI_REGISTRY_DENIED/);
  },
);
