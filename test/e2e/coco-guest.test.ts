import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { join } from 'node:path';
import { stringify, parse as parseYaml } from 'yaml';
import { startCloak, allowSim, runCloak, http, tempDir, type CloakServer } from './harness.ts';
import { readSimDevice, simGuestHardware, type SimDevice } from './tee-evidence.ts';
import { manifestDigest, workloadInitData } from '../../src/manifest/index.ts';
import { CocoAttestationAgent, cdhGetResource, KbsError } from '../../src/kbs/testing/coco-aa.ts';

/*
 * The CoCo guest against `cloak serve`: the attestation agent's RCAR handshake
 * and the data hub's bearer-token resource fetch as guest-components sends
 * them (a stand-in written from their source: src/kbs/testing/coco-aa.ts),
 * with evidence of Cloak's simulated TEE that holds the init-data digest where
 * SNP holds HOST_DATA.
 */

let server: CloakServer;
let dir: ReturnType<typeof tempDir>;
let device: SimDevice;
const admin = () => ({ authorization: `Bearer ${server.token}` });
const owner = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const sha256 = (t: string) => createHash('sha256').update(t).digest();
const KEK = randomBytes(32);
const GUEST_IMAGE = createHash('sha384').update('the guest image the workload pins').digest();
const POLICY = 'package agent_policy\n\ndefault ExecProcessRequest := false\ndefault SetPolicyRequest := false\n';

const initDataFor = (policy: string, url: string) =>
  workloadInitData({
    name: 'app',
    server: url,
    images: ['sha256:' + 'a'.repeat(64)],
    secrets: [{ resource: 'default/secret/app-db', file: 'db' }],
    policy,
  });

/** The simulated hardware: its report holds `hostData` (default: the init-data's digest) and the launch measurement. */
const simHardware = (initData: string, opts: { hostData?: Buffer; measurement?: Buffer } = {}) =>
  simGuestHardware(device, initData, { hostData: opts.hostData, measurement: opts.measurement ?? GUEST_IMAGE });

before(async () => {
  dir = tempDir('cloak-coco-guest-');
  assert.equal((await runCloak(['sim', 'init', '--dir', join(dir.path, 'sim')])).code, 0);
  device = readSimDevice(join(dir.path, 'sim'));
  server = await startCloak({ args: ['--sim-root', join(dir.path, 'sim', 'root.pem')] });
  await allowSim(server);
  const text = stringify({
    version: 1,
    owners: {
      users: [{ name: 'alice', publicKey: owner.publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
    },
    secrets: [{ name: 'db', resource: 'default/secret/app-db' }],
    workloads: [
      {
        name: 'app',
        tees: ['sim'],
        referenceValues: {
          initData: [sha256(initDataFor(POLICY, server.url)).toString('hex')],
          measurements: [GUEST_IMAGE.toString('hex')],
        },
        secrets: [{ name: 'db', file: 'db' }],
        keys: ['default/key/app'],
      },
    ],
  });
  const signature = sign(
    'sha256',
    Buffer.from(`cloak-manifest-v1:${manifestDigest(parseYaml(text))}`),
    owner.privateKey,
  ).toString('base64');
  const set = await http('PUT', `${server.url}/api/v1/manifest`, {
    body: { manifest: text, signatures: [{ user: 'alice', signature }] },
    headers: admin(),
  });
  assert.equal(set.status < 300, true, set.text);
  for (const [path, value] of [
    ['default/key/app', KEK],
    ['default/secret/app-db', Buffer.from('db-password')],
  ] as const) {
    const put = await http('PUT', `${server.url}/api/v1/resources/${path}`, {
      body: { value: value.toString('base64') },
      headers: admin(),
    });
    assert.equal(put.status, 204, put.text);
  }
});
after(async () => {
  await server?.stop();
  dir?.remove();
});

test('the CoCo AA attests with the init-data, its token carries exp and the TEE key, and the CDH fetches the image key with Authorization: Bearer', async () => {
  const initData = initDataFor(POLICY, server.url);
  const aa = new CocoAttestationAgent(server.url, 'sim', simHardware(initData), initData);
  const token = await aa.attest();
  const claims = aa.token!.claims as any;
  assert.equal(aa.token!.exp! - (claims.iat as number), 300, 'the token expires five minutes after it was issued');
  const evidence = claims.submods.cpu0['ear.veraison.annotated-evidence'];
  assert.deepEqual(
    evidence.runtime_data_claims['tee-pubkey'],
    aa.key.publicJwk,
    'the TEE key the resource is encrypted to is in the token',
  );
  assert.equal(evidence.init_data, sha256(initData).toString('hex'));
  assert.equal(claims.submods.cpu0['ear.status'], 'affirming');

  // image-rs → CDH → KBS: kbs:///default/key/app with the AA's token (no cookie), decrypted as the CDH decrypts.
  assert.deepEqual(await cdhGetResource(server.url, 'kbs:///default/key/app', token, aa.key), KEK);
  assert.equal(
    (await cdhGetResource(server.url, 'kbs:///default/secret/app-db', token, aa.key)).toString(),
    'db-password',
  );
  // The AA's own client uses the session cookie of its handshake.
  assert.deepEqual(await aa.resource('kbs:///default/key/app'), KEK);
  // Only the workload's own resources; a resource it does not list is refused.
  await assert.rejects(
    cdhGetResource(server.url, 'kbs:///default/key/other', token, aa.key),
    (e) => e instanceof KbsError && e.status === 403,
  );
  // A token the server did not sign makes the CDH ask the AA for a new one (401).
  const forged = token.replace(/\.[^.]+$/, '.' + Buffer.alloc(64).toString('base64url'));
  await assert.rejects(
    cdhGetResource(server.url, 'kbs:///default/key/app', forged, aa.key),
    (e) => e instanceof KbsError && e.status === 401,
  );
});

test('refused: init-data the manifest does not record, init-data the hardware does not hold, a launch measurement not pinned', async () => {
  const pinned = initDataFor(POLICY, server.url);

  // The host boots the pod with its own (permissive) agent policy: the hardware holds that init-data, the manifest does not.
  const permissive = initDataFor('package agent_policy\n\ndefault AllowRequestsFailingPolicy := true\n', server.url);
  const hostsOwn = new CocoAttestationAgent(server.url, 'sim', simHardware(permissive), permissive);
  const token = await hostsOwn.attest();
  await assert.rejects(
    cdhGetResource(server.url, 'kbs:///default/key/app', token, hostsOwn.key),
    (e) =>
      e instanceof KbsError &&
      e.status === 403 &&
      e.body?.type === 'https://github.com/confidential-containers/kbs/errors/PolicyDeny' &&
      new RegExp(`init-data digest ${sha256(permissive).toString('hex')} is not in its referenceValues.initData`).test(
        e.body?.detail ?? '',
      ),
  );

  // The guest sends the pinned init-data, but the hardware was launched with another.
  const lying = new CocoAttestationAgent(
    server.url,
    'sim',
    simHardware(pinned, { hostData: sha256(permissive) }),
    pinned,
  );
  await assert.rejects(
    lying.attest(),
    (e) =>
      e instanceof KbsError &&
      e.status === 401 &&
      /init-data digest .* does not match what the evidence holds/.test(e.body?.detail ?? ''),
  );

  // The pinned init-data in a guest that is not the pinned image: no affirming token, and the refusal says which value to pin and where to get it.
  const otherGuest = createHash('sha384').update('some other guest image').digest();
  const unpinned = new CocoAttestationAgent(
    server.url,
    'sim',
    simHardware(pinned, { measurement: otherGuest }),
    pinned,
  );
  const warned = await unpinned.attest();
  assert.equal((unpinned.token!.claims as any).submods.cpu0['ear.status'], 'warning');
  await assert.rejects(cdhGetResource(server.url, 'kbs:///default/key/app', warned, unpinned.key), (e) => {
    const detail = (e as KbsError).body?.detail ?? '';
    return (
      (e as KbsError).status === 403 &&
      /launch measurement is not pinned/.test(detail) &&
      detail.includes(otherGuest.toString('hex')) &&
      /referenceValues\.measurements/.test(detail) &&
      /release notes|peer-pod image/.test(detail)
    );
  });
});
