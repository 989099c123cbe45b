// The certificate `cloak generate` pins: fetched only against a fingerprint, from a file otherwise.
// The CA and its server certificate here are self-made for the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { isCloakError, x509 } from '../lib/index.ts';
import { createSelfSignedCertificate } from '../server/tls.ts';
import { certificateFingerprint } from '../lib/index.ts';
import { pinnedServerCert } from './server-cert.ts';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A self-made CA and a server certificate for 127.0.0.1 that it issued. */
async function caIssued(): Promise<{ ca: string; cert: string; key: string }> {
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=test CA (self-made)',
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02' + randomBytes(4).toString('hex'),
    subject: 'CN=127.0.0.1',
    issuer: ca.subject,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALG,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  const key = createPrivateKey({
    key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    format: 'der',
    type: 'pkcs8',
  })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
  return { ca: ca.toString('pem') + '\n', cert: cert.toString('pem') + '\n', key };
}

async function serve(cert: string, key: string): Promise<{ url: string; server: Server }> {
  const server = createServer({ cert, key }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('pinnedServerCert: fetched when the fingerprint matches, refused otherwise; files; CA-issued certificates need the CA', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-pin-'));
  const self = await createSelfSignedCertificate(['127.0.0.1']);
  const a = await serve(self.cert, self.key);
  const issued = await caIssued();
  const b = await serve(issued.cert + issued.ca, issued.key);
  try {
    const fp = certificateFingerprint(self.cert);
    assert.equal(
      certificateFingerprint(
        (await pinnedServerCert(a.url, { fingerprint: fp.toUpperCase().replace('SHA256', 'sha256') }))!,
      ),
      fp,
    );
    await assert.rejects(pinnedServerCert(a.url, { fingerprint: 'sha256:' + '0'.repeat(64) }), (e) =>
      isCloakError(e, 'SERVER_CERT_MISMATCH'),
    );
    await assert.rejects(pinnedServerCert(a.url, {}), (e) => isCloakError(e, 'USAGE_SERVER_CERT'));
    await assert.rejects(pinnedServerCert(a.url, { fingerprint: 'abc' }), (e) => isCloakError(e, 'USAGE_FINGERPRINT'));
    await assert.rejects(pinnedServerCert('http://127.0.0.1:1', { fingerprint: fp }), (e) =>
      isCloakError(e, 'USAGE_SERVER_CERT'),
    );
    assert.equal(await pinnedServerCert('http://127.0.0.1:1', {}), undefined, 'plain HTTP pins nothing');
    await assert.rejects(pinnedServerCert('https://127.0.0.1:1', { fingerprint: fp, timeoutMs: 2000 }), (e) =>
      isCloakError(e, 'SERVER_CERT_FETCH'),
    );

    // A CA-issued certificate is not pinned by fetching (the guest takes the pin as a root): the CA from a file is.
    await assert.rejects(pinnedServerCert(b.url, { fingerprint: certificateFingerprint(issued.cert) }), (e) =>
      isCloakError(e, 'SERVER_CERT_ISSUED'),
    );
    writeFileSync(join(dir, 'ca.pem'), issued.ca);
    assert.equal(
      certificateFingerprint((await pinnedServerCert(b.url, { certFile: join(dir, 'ca.pem') }))!),
      certificateFingerprint(issued.ca),
    );
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate');
    await assert.rejects(pinnedServerCert(b.url, { certFile: join(dir, 'junk.pem') }), (e) =>
      isCloakError(e, 'USAGE_SERVER_CERT'),
    );
    await assert.rejects(pinnedServerCert(b.url, { certFile: join(dir, 'missing.pem') }), (e) =>
      isCloakError(e, 'USAGE_SERVER_CERT'),
    );
  } finally {
    a.server.close();
    b.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
