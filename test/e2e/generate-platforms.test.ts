// `cloak generate --platform` against a real `cloak serve` over HTTPS: for
// each platform the YAML validates against the Kubernetes schemas, the
// init-data is what Kata's parser and the guest components read (aa.toml,
// cdh.toml with the pinned certificate and the image policy, policy.rego),
// its digest (in the platform's algorithm) is in the manifest, and the
// server certificate is pinned only when it is the one the user named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { runCloak, startCloak, tempDir, type CloakServer } from './harness.ts';
import { validateK8s, parseYamlStream } from '../support/k8s-validate.ts';
import { decodeInitData, readInitData } from '../../src/lib/index.ts';
import { INITDATA_ANNOTATION } from '../../src/k8s/index.ts';
import { createSelfSignedCertificate } from '../../src/server/tls.ts';
import { certificateFingerprint } from '../../src/lib/index.ts';

const DIGEST = 'sha256:' + '3'.repeat(64);
const APP = `nginx@${DIGEST}`;
const AGENT = `ghcr.io/cloak-project/cloak@sha256:${'4'.repeat(64)}`;
const SAMPLE = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: nginx
          image: ${APP}
          ports: [{ containerPort: 80 }]
`;
const PLATFORMS = [
  { name: 'azure', runtimeClass: 'kata-remote', algorithm: 'sha256', tees: ['az-snp-vtpm', 'az-tdx-vtpm'] },
  { name: 'snp', runtimeClass: 'kata-qemu-snp', algorithm: 'sha256', tees: ['snp'] },
  { name: 'tdx', runtimeClass: 'kata-qemu-tdx', algorithm: 'sha384', tees: ['tdx'] },
];

function setup(dir: string) {
  writeFileSync(join(dir, 'app.yaml'), SAMPLE);
  const configs = join(dir, 'configs');
  mkdirSync(configs);
  const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  writeFileSync(
    join(configs, `sha256-${'3'.repeat(64)}.json`),
    JSON.stringify({
      config: { Entrypoint: ['/docker-entrypoint.sh'], Cmd: ['nginx', '-g', 'daemon off;'], Env: [PATH] },
    }),
  );
  writeFileSync(
    join(configs, `sha256-${'4'.repeat(64)}.json`),
    JSON.stringify({
      config: {
        Entrypoint: ['node', '/opt/cloak/dist/cloak.js'],
        Env: [PATH],
        User: '10001:10001',
        WorkingDir: '/opt/cloak',
      },
    }),
  );
  return configs;
}

test('cloak generate --platform azure|snp|tdx: schema-valid YAML, init-data the guest reads with the pinned certificate, its digest in the manifest', async () => {
  const dir = tempDir('cloak-platforms-');
  let server: CloakServer | undefined;
  try {
    server = await startCloak({ args: ['--tls-self-signed'] });
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const pem = readFileSync(join(server.data, 'tls', 'server.crt'), 'utf8');
    const fingerprint = certificateFingerprint(pem);
    const configs = setup(dir.path);
    const gen = (out: string, ...args: string[]) =>
      runCloak([
        'generate',
        join(dir.path, 'app.yaml'),
        '--server',
        server!.url,
        '--agent-image',
        AGENT,
        '--image-configs',
        configs,
        '--offline',
        '-o',
        join(dir.path, out),
        ...args,
      ]);

    for (const p of PLATFORMS) {
      const r = await gen(p.name, '--platform', p.name, '--server-fingerprint', fingerprint);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`platform ${p.name}: runtime class ${p.runtimeClass}, init-data digest ${p.algorithm}`),
      );
      const objects = parseYamlStream(readFileSync(join(dir.path, p.name, 'app.yaml'), 'utf8'));
      assert.deepEqual(validateK8s(objects), [], `${p.name}: the Kubernetes schemas accept the generated objects`);
      const tpl = objects[0]!.spec.template;
      assert.equal(tpl.spec.runtimeClassName, p.runtimeClass);

      // The annotation decodes to TOML Kata's parser accepts; its entries are what the guest components read.
      const text = decodeInitData(tpl.metadata.annotations[INITDATA_ANNOTATION]);
      const doc = readInitData(text);
      assert.equal(doc.algorithm, p.algorithm);
      assert.deepEqual(Object.keys(doc.data).sort(), ['aa.toml', 'cdh.toml', 'cloak.toml', 'policy.rego']);
      const aa = parseToml(doc.data['aa.toml']!) as any;
      assert.equal(aa.token_configs.kbs.url, server.url);
      assert.equal(
        certificateFingerprint(aa.token_configs.kbs.cert),
        fingerprint,
        'aa.toml pins the server certificate',
      );
      const cdh = parseToml(doc.data['cdh.toml']!) as any;
      assert.deepEqual([cdh.kbc.name, cdh.kbc.url], ['cc_kbc', server.url]);
      assert.equal(certificateFingerprint(cdh.kbc.kbs_cert), fingerprint, 'cdh.toml pins the server certificate');
      const imagePolicy = JSON.parse(cdh.image.image_security_policy);
      assert.deepEqual(imagePolicy.default, [{ type: 'reject' }]);
      assert.deepEqual(
        Object.keys(imagePolicy.transports.docker).sort(),
        [AGENT, `docker.io/library/${APP}`].sort(),
        'only the pinned images may be pulled',
      );
      assert.match(doc.data['policy.rego']!, /^package agent_policy/m);

      // The manifest allows the platform's evidence and records the digest in the platform's algorithm.
      const manifest = parseYaml(readFileSync(join(dir.path, p.name, 'cloak-manifest.yaml'), 'utf8'));
      const w = manifest.workloads.find((x: any) => x.name === 'web');
      assert.deepEqual(w.tees, p.tees);
      assert.deepEqual(w.referenceValues.initData, [createHash(p.algorithm).update(text).digest('hex')]);
    }

    // The certificate from a file pins the same bytes with no fetch.
    writeFileSync(join(dir.path, 'server.crt'), pem);
    const fromFile = await gen('file', '--platform', 'snp', '--server-cert', join(dir.path, 'server.crt'));
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(
      readFileSync(join(dir.path, 'file', 'app.yaml'), 'utf8'),
      readFileSync(join(dir.path, 'snp', 'app.yaml'), 'utf8'),
    );

    // Refusals: another certificate than the pinned one, an unpinned https server, a certificate not naming the host.
    const other = await createSelfSignedCertificate(['localhost', '127.0.0.1']);
    const mismatch = await gen('mismatch', '--server-fingerprint', certificateFingerprint(other.cert));
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /SERVER_CERT_MISMATCH: .* presents certificate sha256:[0-9a-f]{64}, not the pinned/);
    writeFileSync(join(dir.path, 'other.crt'), other.cert);
    const fileMismatch = await gen(
      'mismatch',
      '--server-cert',
      join(dir.path, 'other.crt'),
      '--server-fingerprint',
      fingerprint,
    );
    assert.match(fileMismatch.stderr, /SERVER_CERT_MISMATCH/);
    const unpinned = await gen('mismatch');
    assert.equal(unpinned.code, 2, 'a usage error');
    assert.match(
      unpinned.stderr,
      /pin the certificate of https:\/\/127\.0\.0\.1:\d+: --server-fingerprint sha256:… .* or --server-cert FILE/,
    );
    const elsewhere = await createSelfSignedCertificate(['cloak.example']);
    writeFileSync(join(dir.path, 'elsewhere.crt'), elsewhere.cert);
    const misnamed = await gen('mismatch', '--server-cert', join(dir.path, 'elsewhere.crt'));
    assert.match(misnamed.stderr, /SERVER_CERT_NAME: .* does not name 127\.0\.0\.1/);
    assert.equal(existsSync(join(dir.path, 'mismatch')), false, 'nothing is written on a refusal');
    assert.ok(new X509Certificate(pem).checkIP('127.0.0.1'));
  } finally {
    await server?.stop();
    dir.remove();
  }
});

test('the retired kata-cc-isolation class warns; unknown platforms are refused; --tee overrides the manifest TEEs', async () => {
  const dir = tempDir('cloak-platforms-');
  try {
    const configs = setup(dir.path);
    const base = [
      'generate',
      join(dir.path, 'app.yaml'),
      '--agent-image',
      AGENT,
      '--image-configs',
      configs,
      '--offline',
    ];
    const retired = await runCloak([...base, '--runtime-class', 'kata-cc-isolation', '-o', join(dir.path, 'retired')]);
    assert.equal(retired.code, 0, retired.stderr);
    assert.match(
      retired.stderr,
      /^warning: runtime class kata-cc-isolation is AKS's Confidential Containers preview, retired in March 2026; its runtime ignores the cc_init_data annotation/m,
    );
    assert.equal(
      parseYamlStream(readFileSync(join(dir.path, 'retired', 'app.yaml'), 'utf8'))[0]!.spec.template.spec
        .runtimeClassName,
      'kata-cc-isolation',
    );
    const plain = await runCloak([...base, '-o', join(dir.path, 'plain')]);
    assert.doesNotMatch(plain.stderr, /retired/);
    const unknown = await runCloak([...base, '--platform', 'aks']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown platform "aks" \(known: azure, snp, tdx\)/);
    const onlySnp = await runCloak([...base, '--tee', 'az-snp-vtpm', '-o', join(dir.path, 'only-snp')]);
    assert.equal(onlySnp.code, 0, onlySnp.stderr);
    assert.deepEqual(
      parseYaml(readFileSync(join(dir.path, 'only-snp', 'cloak-manifest.yaml'), 'utf8')).workloads[0].tees,
      ['az-snp-vtpm'],
    );
    const sim = await runCloak([...base, '--platform', 'tdx', '--tee', 'sim', '-o', join(dir.path, 'sim')]);
    assert.match(sim.stderr, /allows TEE sim, which platform tdx does not produce/);
  } finally {
    dir.remove();
  }
});

test('cloak serve refuses plain HTTP off loopback and says what to do', async () => {
  const dir = tempDir('cloak-serve-');
  try {
    const r = await runCloak(['serve', '--listen', '0.0.0.0:0', '--data', dir.path]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /listening on 0\.0\.0\.0 needs HTTPS: give --tls-cert FILE --tls-key FILE, or --tls-self-signed/,
    );
    assert.equal(existsSync(join(dir.path, 'cloak.db')), false, 'refused before anything is created');
  } finally {
    dir.remove();
  }
});
