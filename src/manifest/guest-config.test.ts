// aa.toml and cdh.toml as the CoCo guest components read them (field names from guest-components' config structs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { parse as parseToml } from 'smol-toml';
import { isCloakError, x509 } from '../lib/index.ts';
import { attestationAgentConfig, dataHubConfig, imageSecurityPolicy } from './guest-config.ts';

async function selfMadeCert(): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=test (self-made)',
    keys,
    signingAlgorithm: alg,
  });
  return cert.toString('pem') + '\n';
}

test('aa.toml and cdh.toml name the KBS, pin its certificate, and carry the image policy', async () => {
  const cert = await selfMadeCert();
  const server = { url: 'https://cloak.example:8443', cert };
  const aa = JSON.parse(JSON.stringify(parseToml(attestationAgentConfig(server))));
  assert.deepEqual(aa, { token_configs: { kbs: { url: server.url, cert } } });
  const images = [
    'docker.io/library/nginx@sha256:' + 'a'.repeat(64),
    'registry.example:5000/app@sha256:' + 'b'.repeat(64),
  ];
  const cdh = parseToml(dataHubConfig(server, [...images].reverse())) as any;
  assert.deepEqual({ ...cdh.kbc }, { name: 'cc_kbc', url: server.url, kbs_cert: cert });
  const policy = JSON.parse(cdh.image.image_security_policy);
  assert.deepEqual(policy, {
    default: [{ type: 'reject' }],
    transports: { docker: Object.fromEntries(images.map((i) => [i, [{ type: 'insecureAcceptAnything' }]])) },
  });
  assert.equal(
    imageSecurityPolicy(images),
    imageSecurityPolicy([...images, images[0]!].reverse()),
    'sorted and deduplicated: the same pod gives the same bytes',
  );
  assert.equal(
    (parseToml(dataHubConfig({ url: 'http://127.0.0.1:8080' })) as any).image,
    undefined,
    'no images: no policy',
  );

  const refused: Array<[() => string, string]> = [
    [() => attestationAgentConfig({ url: 'http://cloak.example:8080', cert }), 'INITDATA_SERVER_CERT'],
    [
      () =>
        attestationAgentConfig({
          url: 'https://cloak.example',
          cert: generateKeyPairSync('ec', { namedCurve: 'P-256' })
            .publicKey.export({ type: 'spki', format: 'pem' })
            .toString(),
        }),
      'INITDATA_SERVER_CERT',
    ],
    [() => attestationAgentConfig({ url: 'https://cloak.example', cert: cert + cert }), 'INITDATA_SERVER_CERT'],
    [() => dataHubConfig({ url: 'file:///etc/passwd' }), 'INITDATA_SERVER_URL'],
    [() => dataHubConfig({ url: 'https://a"b' }), 'INITDATA_SERVER_URL'],
    [() => imageSecurityPolicy(['nginx latest']), 'INITDATA_IMAGE_POLICY'],
  ];
  for (const [f, code] of refused) assert.throws(f, (e) => isCloakError(e, code), code);
});
