import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeProtectedHeader, decodeJwt } from 'jose';
import { startSimCloak, http, tempDir, type CloakServer, setResource } from './harness.ts';
import { KbsClient, teeKey, decryptJwe, attestPayload, type KeyKind } from './kbs-client.ts';
import { readSimDevice, teeEvidence, type SimDevice } from './tee-evidence.ts';

const INIT_DATA = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = \'\'\'\n[token_configs]\n\'\'\'\n';
const DEV_POLICY =
  'version: 1\nallowInsecure: [sim, sample]\ntrustVector:\n  hardware: "2"\n  configuration: \'has(claims.debug) && claims.debug ? 96 : 2\'\n';

let server: CloakServer;
let simDir: ReturnType<typeof tempDir>;
let device: SimDevice;
const admin = () => ({ authorization: `Bearer ${server.token}` });

before(async () => {
  simDir = tempDir('cloak-sim-');
  server = await startSimCloak(simDir.path);
  device = readSimDevice(join(simDir.path, 'sim'));
  await setResource(server, 'default/secret/db-password', 's3cret');
});

after(async () => {
  await server?.stop();
  simDir?.remove();
});

async function handshake(tee: string, kind: KeyKind, opts: { initData?: string; debug?: boolean } = {}) {
  const client = new KbsClient(server.url);
  const key = teeKey(kind);
  const auth = await client.auth(tee);
  assert.equal(auth.status, 200, JSON.stringify(auth.body));
  const attest = await client.attest(
    attestPayload(auth.nonce!, key, teeEvidence(tee, auth.nonce!, key, device, opts), opts.initData),
  );
  return { client, key, attest };
}

test('insecure TEEs are refused under the default policy, with a problem body and an audit record', async () => {
  const { attest } = await handshake('sample', 'EC');
  assert.equal(attest.status, 403);
  assert.match(attest.body.type, /^https:\/\/github.com\/confidential-containers\/kbs\/errors\//);
  assert.equal(attest.body.code, 'POLICY_INSECURE_TEE');
  const counts = await http('GET', `${server.url}/api/v1/audit/counts?kind=kbs.attest&outcome=refused`, {
    headers: admin(),
  });
  assert.ok(
    counts.json.some(
      (r: any) =>
        r.code === 'POLICY_INSECURE_TEE' && r.source === '127.0.0.1' && r.sample?.startsWith('POLICY_INSECURE_TEE: '),
    ),
  );
});

test('full handshake for sample and sim, EC and RSA keys, cookie and bearer', async () => {
  const set = await http('PUT', `${server.url}/api/v1/policies/attestation`, {
    body: { text: DEV_POLICY },
    headers: admin(),
  });
  assert.equal(set.status, 204, set.text);
  for (const tee of ['sample', 'sim']) {
    for (const kind of ['EC', 'RSA'] as const) {
      for (const form of ['cookie', 'bearer'] as const) {
        const initData = tee === 'sim' ? INIT_DATA : undefined;
        const { client, key, attest } = await handshake(tee, kind, { initData });
        assert.equal(attest.status, 200, `${tee}/${kind}: ${JSON.stringify(attest.body)}`);
        const header = decodeProtectedHeader(attest.body.token);
        assert.equal(header.alg, 'ES256');
        const claims = decodeJwt(attest.body.token) as any;
        const cpu0 = claims.submods.cpu0;
        assert.equal(cpu0['ear.status'], 'affirming');
        assert.equal(cpu0['ear.veraison.annotated-evidence'].insecure, true, 'the token says the TEE is insecure');
        assert.deepEqual(cpu0['ear.veraison.annotated-evidence'].runtime_data_claims['tee-pubkey'], key.jwk);
        const res = await client.resource('default/secret/db-password', form);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(
          JSON.parse(Buffer.from(res.body.protected, 'base64url').toString()).alg,
          kind === 'EC' ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256',
        );
        assert.equal((await decryptJwe(res.body, key)).toString(), 's3cret');
      }
    }
  }
  const jwks = await http('GET', `${server.url}/.well-known/jwks.json`);
  assert.equal(jwks.json.keys[0].alg, 'ES256');
  const oidc = await http('GET', `${server.url}/.well-known/openid-configuration`);
  assert.equal(oidc.json.jwks_uri, `${server.url}/.well-known/jwks.json`);
});

test('init-data that does not match what the sim hardware holds is refused', async () => {
  const client = new KbsClient(server.url);
  const key = teeKey('EC');
  const { nonce } = await client.auth('sim');
  const evidence = teeEvidence('sim', nonce!, key, device, { initData: INIT_DATA });
  const attest = await client.attest(attestPayload(nonce!, key, evidence, INIT_DATA.replace('0.1.0', '0.2.0')));
  assert.equal(attest.status, 401);
  assert.equal(attest.body.code, 'KBS_INITDATA_MISMATCH');
});

test('debug evidence is contraindicated and gets no token', async () => {
  const { attest } = await handshake('sim', 'EC', { debug: true });
  assert.equal(attest.status, 403);
  assert.equal(attest.body.code, 'KBS_ATTESTATION_CONTRAINDICATED');
});
