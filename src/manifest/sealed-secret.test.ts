import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { isCloakError } from '../lib/index.ts';
import {
  parseSealedSecret,
  sealVaultSecret,
  sealingPublicJwk,
  verifySealedSecret,
  SEALED_PREFIX,
} from './sealed-secret.ts';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const privateJwk = privateKey.export({ format: 'jwk' });

test('a vault sealed secret has the shape confidential-data-hub reads', async () => {
  const sealed = await sealVaultSecret({
    resource: 'default/secret/db-password',
    kid: 'default/sealing/key',
    key: privateJwk,
  });
  assert.ok(sealed.startsWith(SEALED_PREFIX));
  // hub/src/secret/mod.rs, verification skipped: the whole string split on "." gives four sections, the payload third.
  const sections = sealed.split('.');
  assert.equal(sections.length, 4);
  assert.equal(sections[0], 'sealed');
  const header = JSON.parse(Buffer.from(sections[1]!, 'base64url').toString());
  assert.deepEqual(header, { alg: 'ES256', kid: 'kbs:///default/sealing/key' });
  const payload = JSON.parse(Buffer.from(sections[2]!, 'base64url').toString());
  // Secret {version, #[serde(flatten)] tag "type"} + layout/vault.rs VaultSecret {name, provider, provider_settings, annotations}.
  assert.deepEqual(Object.keys(payload).sort(), [
    'annotations',
    'name',
    'provider',
    'provider_settings',
    'type',
    'version',
  ]);
  assert.deepEqual(payload, {
    version: '0.1.0',
    type: 'vault',
    name: 'kbs:///default/secret/db-password',
    provider: 'kbs',
    provider_settings: {},
    annotations: {},
  });
  assert.ok(!sealed.includes('='), 'base64url without padding (their test_no_padding)');
  // validate_es256: the P-256 signature, r||s, over "<header>.<payload>".
  const signature = Buffer.from(sections[3]!, 'base64url');
  assert.equal(signature.length, 64);
  assert.ok(
    verify(
      'sha256',
      Buffer.from(`${sections[1]}.${sections[2]}`),
      { key: privateKey, dsaEncoding: 'ieee-p1363' },
      signature,
    ),
  );

  const parsed = await verifySealedSecret(sealed, sealingPublicJwk(privateJwk));
  assert.equal(parsed.resource, 'default/secret/db-password');
  assert.equal(parsed.kidResource, 'default/sealing/key');
  assert.equal(parsed.payload.type, 'vault');
});

test('a tampered sealed secret or another key fails verification (their check_tampering, check_wrong_key)', async () => {
  const sealed = await sealVaultSecret({ resource: 'one/2/trois', kid: 'default/sealing/key', key: privateKey });
  const pub = sealingPublicJwk(privateKey);
  const [, h, p, s] = sealed.split('.');
  for (const offset of [10, SEALED_PREFIX.length + h!.length + 5, SEALED_PREFIX.length + h!.length + p!.length + 10]) {
    const chars = [...sealed];
    chars[offset] = chars[offset] === 'X' ? 'Y' : 'X';
    await assert.rejects(verifySealedSecret(chars.join(''), pub), (e) => isCloakError(e));
  }
  const other = sealingPublicJwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  await assert.rejects(verifySealedSecret(sealed, other), (e) => isCloakError(e, 'SEALED_SECRET_SIGNATURE'));
  assert.equal(s!.length, 86);
});

test('sealing refuses keys and names the CDH would not accept', async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  await assert.rejects(sealVaultSecret({ resource: 'a/b/c', kid: 'a/b/k', key: rsa }), (e) =>
    isCloakError(e, 'SEALED_SECRET_KEY'),
  );
  await assert.rejects(sealVaultSecret({ resource: 'a/b/c', kid: 'a/b/k', key: sealingPublicJwk(privateKey) }), (e) =>
    isCloakError(e, 'SEALED_SECRET_KEY'),
  );
  await assert.rejects(sealVaultSecret({ resource: 'a/../c', kid: 'a/b/k', key: privateKey }), (e) =>
    isCloakError(e, 'SEALED_SECRET_RESOURCE'),
  );
  await assert.rejects(sealVaultSecret({ resource: 'a/b/c', kid: 'kbs:///a/b/k', key: privateKey }), (e) =>
    isCloakError(e, 'SEALED_SECRET_RESOURCE'),
  );
});

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const SIG = Buffer.alloc(64, 1).toString('base64url');
const HEADER = b64({ alg: 'ES256', kid: 'kbs:///a/b/k' });
const VAULT = {
  version: '0.1.0',
  type: 'vault',
  name: 'kbs:///a/b/c',
  provider: 'kbs',
  provider_settings: {},
  annotations: {},
};

test('the parser refuses what the CDH refuses, each with its reason', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['not sealed', 'a.b.c', /does not start with "sealed\."/],
    ['too long', 'sealed.' + 'a'.repeat(20000), /longer than/],
    ['two parts', `sealed.${HEADER}.${b64(VAULT)}`, /three dot-separated parts/],
    ['padding', `sealed.${HEADER}=.${b64(VAULT)}.${SIG}`, /header is not base64url/],
    ['alg', `sealed.${b64({ alg: 'RS256', kid: 'x' })}.${b64(VAULT)}.${SIG}`, /not ES256/],
    ['no kid', `sealed.${b64({ alg: 'ES256' })}.${b64(VAULT)}.${SIG}`, /needs "kid"/],
    ['version', `sealed.${HEADER}.${b64({ ...VAULT, version: '0.2.0' })}.${SIG}`, /not 0\.1\.0/],
    ['type', `sealed.${HEADER}.${b64({ ...VAULT, type: 'kms' })}.${SIG}`, /type must be/],
    ['no annotations', `sealed.${HEADER}.${b64({ ...VAULT, annotations: undefined })}.${SIG}`, /needs "annotations"/],
    [
      'wrap type',
      `sealed.${HEADER}.${b64({ ...VAULT, type: 'envelope', key_id: 'k', encrypted_key: 'a', encrypted_data: 'b', iv: 'c', wrap_type: 'A128GCM' })}.${SIG}`,
      /wrap_type/,
    ],
    ['short signature', `sealed.${HEADER}.${b64(VAULT)}.${SIG.slice(0, 40)}`, /signature is 30 bytes/],
    ['not JSON', `sealed.${Buffer.from('{').toString('base64url')}.${b64(VAULT)}.${SIG}`, /header is not UTF-8 JSON/],
  ];
  // The same signature bytes spelt with stray trailing bits (the CDH's decoder refuses those too).
  const sigBytes = Buffer.from(SIG, 'base64url');
  const alias = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_']
    .map((c) => SIG.slice(0, -1) + c)
    .find((a) => a !== SIG && Buffer.from(a, 'base64url').equals(sigBytes))!;
  cases.push(['non-canonical base64url', `sealed.${HEADER}.${b64(VAULT)}.${alias}`, /signature is not base64url/]);
  for (const [name, input, message] of cases) {
    assert.throws(
      () => parseSealedSecret(input),
      (e) => isCloakError(e, 'SEALED_SECRET_INVALID') && message.test((e as Error).message),
      name,
    );
  }
  const envelope = parseSealedSecret(
    `sealed.${HEADER}.${b64({ ...VAULT, type: 'envelope', provider: 'aliyun', key_id: 'k', encrypted_key: 'a', encrypted_data: 'b', iv: 'c', wrap_type: 'A256GCM' })}.${SIG}`,
  );
  assert.equal(envelope.payload.type, 'envelope');
  assert.equal(envelope.resource, undefined);
});
