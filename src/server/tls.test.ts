// HTTPS serve: the self-signed certificate created once and reused, its key
// private, plain HTTP only on loopback, and a client pinning another
// certificate refused by the TLS handshake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateFingerprint, isCloakError } from '../lib/index.ts';
import { loadServerConfig } from './config.ts';
import { startServer } from './serve.ts';
import { createSelfSignedCertificate, isLoopbackHost, loadOrCreateSelfSigned, readTlsFiles } from './tls.ts';

/** GET over HTTPS trusting exactly `ca` (the pinned certificate). */
function getPinned(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the self-signed certificate: ECDSA P-256, not a CA, names the host; created once (key 0600) and reused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-tls-'));
  try {
    const first = await loadOrCreateSelfSigned(join(dir, 'tls'), ['cloak.example', 'localhost', '127.0.0.1', '::1']);
    assert.equal(first.created, true);
    assert.equal(statSync(join(dir, 'tls', 'server.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'tls')).mode & 0o777, 0o700);
    const x = new X509Certificate(first.cert);
    assert.equal(x.ca, false, "rustls refuses a CA certificate as the server's");
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(x.checkHost('cloak.example') && x.checkHost('localhost') && x.checkIP('127.0.0.1') && x.checkIP('::1'));
    assert.match(first.fingerprint, /^sha256:[0-9a-f]{64}$/);
    const again = await loadOrCreateSelfSigned(join(dir, 'tls'), ['other.example']);
    assert.equal(again.created, false);
    assert.equal(again.fingerprint, first.fingerprint);
    assert.equal(again.key, first.key);

    rmSync(join(dir, 'tls', 'server.crt'));
    await assert.rejects(
      loadOrCreateSelfSigned(join(dir, 'tls'), ['x']),
      (e) => isCloakError(e, 'CONFIG_INVALID') && /only one of/.test((e as Error).message),
    );
    const other = await createSelfSignedCertificate(['localhost']);
    writeFileSync(join(dir, 'c.pem'), first.cert);
    writeFileSync(join(dir, 'k.pem'), other.key);
    assert.throws(
      () => readTlsFiles(join(dir, 'c.pem'), join(dir, 'k.pem')),
      (e) => isCloakError(e, 'CONFIG_INVALID') && /does not belong/.test((e as Error).message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plain HTTP only on loopback; TLS settings from flags, cloak.yaml or CLOAK_* and checked together', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'cloak.example', '128.0.0.1'])
    assert.equal(isLoopbackHost(h), false, h);
  const refused = (flags: Record<string, unknown>, env: Record<string, string> = {}, what = /needs HTTPS/) =>
    assert.throws(
      () => loadServerConfig(flags, env),
      (e) => isCloakError(e, 'CONFIG_INVALID') && what.test((e as Error).message),
      JSON.stringify(flags),
    );
  refused({ listen: '0.0.0.0:8443' });
  refused({ listen: '[::]:8443' });
  refused({}, { CLOAK_LISTEN: '10.1.2.3:8443' });
  refused({ listen: '0.0.0.0:8443', tlsCert: 'a.pem' }, {}, /go together/);
  refused({ listen: '0.0.0.0:8443', tlsCert: 'a.pem', tlsKey: 'b.pem', tlsSelfSigned: true }, {}, /not both/);
  refused({ tlsSelfSigned: 'yes' }, {}, /true or false/);
  refused({ tlsSelfSigned: true, tlsNames: ['cloak.example, O=evil'] }, {}, /not a DNS name or an IP address/);
  assert.equal(loadServerConfig({ listen: '0.0.0.0:8443', tlsSelfSigned: true }, {}).tlsSelfSigned, true);
  const env = loadServerConfig(
    {},
    { CLOAK_LISTEN: '0.0.0.0:8443', CLOAK_TLS_SELF_SIGNED: 'true', CLOAK_TLS_NAMES: 'cloak.example,10.0.0.5' },
  );
  assert.deepEqual(env.tlsNames, ['cloak.example', '10.0.0.5']);
  const dir = mkdtempSync(join(tmpdir(), 'cloak-tls-cfg-'));
  try {
    writeFileSync(
      join(dir, 'cloak.yaml'),
      'listen: 0.0.0.0:8443\ntlsCert: /etc/cloak/tls.crt\ntlsKey: /etc/cloak/tls.key\n',
    );
    const fromFile = loadServerConfig({ config: join(dir, 'cloak.yaml') }, {});
    assert.deepEqual([fromFile.tlsCert, fromFile.tlsKey], ['/etc/cloak/tls.crt', '/etc/cloak/tls.key']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(loadServerConfig({ listen: '127.0.0.1:0' }, {}).tlsSelfSigned, false);
});

test('cloak serve over HTTPS: the pinned certificate is served and reused across restarts; a client pinning another certificate is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-https-'));
  const log: string[] = [];
  try {
    const cfg = loadServerConfig({ listen: '127.0.0.1:0', data: dir, tlsSelfSigned: true, logLevel: 'warn' }, {});
    let server = await startServer(cfg, (m) => log.push(m));
    let fingerprint: string;
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(server.tls?.created);
      fingerprint = server.tls!.fingerprint;
      assert.ok(
        log.some((m) => /created a self-signed TLS certificate .*server\.crt \(key mode 0600\)/.test(m)),
        log.join('\n'),
      );
      const pinned = readFileSync(join(dir, 'tls', 'server.crt'), 'utf8');
      assert.equal(certificateFingerprint(pinned), fingerprint);
      const ok = await getPinned(`${server.url}/healthz`, pinned);
      assert.equal(ok.status, 200);
      const other = (await createSelfSignedCertificate(['localhost', '127.0.0.1'])).cert;
      await assert.rejects(getPinned(`${server.url}/healthz`, other), (e: any) =>
        /self[- ]signed|unable to verify|certificate/i.test(`${e.code} ${e.message}`),
      );
      await assert.rejects(fetch(`${server.url}/healthz`), 'an unpinned client does not trust it either');
      const discovery = await getPinned(`${server.url}/.well-known/openid-configuration`, pinned);
      assert.match(JSON.parse(discovery.body).jwks_uri, /^https:\/\//);
    } finally {
      await server.close();
    }
    server = await startServer(cfg, (m) => log.push(m));
    try {
      assert.equal(server.tls?.created, false);
      assert.equal(server.tls?.fingerprint, fingerprint);
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
