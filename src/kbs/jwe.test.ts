import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { flattenedDecrypt } from 'jose';
import { isCloakError } from '../lib/index.ts';
import { encryptToTee, checkTeePubkey, teeKeyPair, decryptFromKbs } from './jwe.ts';
import { cocoDecrypt, cocoTeeKey } from './testing/coco-aa.ts';

const keys: Array<[string, ReturnType<typeof generateKeyPairSync>, string]> = [
  ['EC P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ECDH-ES+A256KW'],
  ['EC P-521', generateKeyPairSync('ec', { namedCurve: 'P-521' }), 'ECDH-ES+A256KW'],
  ['RSA 2048', generateKeyPairSync('rsa', { modulusLength: 2048 }), 'RSA-OAEP-256'],
];

for (const [name, pair, alg] of keys) {
  test(`JWE to a ${name} TEE key uses ${alg} + A256GCM and decrypts`, async () => {
    const jwk = pair.publicKey.export({ format: 'jwk' }) as any;
    await checkTeePubkey(jwk);
    const jwe = await encryptToTee(jwk, Buffer.from('secret'));
    const header = JSON.parse(Buffer.from(jwe.protected, 'base64url').toString());
    assert.equal(header.alg, alg);
    assert.equal(header.enc, 'A256GCM');
    const { plaintext } = await flattenedDecrypt(jwe, pair.privateKey);
    assert.equal(Buffer.from(plaintext).toString(), 'secret');
  });
}

test('unusable TEE keys are refused', async () => {
  const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as any;
  const bad = [
    { kty: 'oct', k: 'AAAA' },
    { kty: 'EC', crv: 'secp256k1', x: 'AA', y: 'AA' },
    { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' },
    priv,
    { kty: 'RSA', n: '!!', e: 'AQAB' },
  ];
  for (const k of bad)
    await assert.rejects(
      checkTeePubkey(k),
      (e) => isCloakError(e, 'KBS_TEE_PUBKEY_INVALID'),
      JSON.stringify(k).slice(0, 60),
    );
});

test('tee-pubkey members: what CoCo guests send is accepted, anything else refused', async () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as any;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }) as any;
  for (const k of [{ ...ec, alg: 'ECDH-ES+A256KW' }, ec, { ...rsa, alg: 'RSA-OAEP-256' }]) await checkTeePubkey(k);
  for (const k of [
    { ...ec, use: 'enc' },
    { ...ec, kid: '1' },
    { ...ec, n: rsa.n },
    { ...rsa, crv: 'P-256' },
    { ...rsa, x5c: [] },
    { kty: 'EC', crv: 'P-256', x: ec.x },
  ]) {
    await assert.rejects(
      checkTeePubkey(k),
      (e) => isCloakError(e, 'KBS_TEE_PUBKEY_INVALID'),
      JSON.stringify(Object.keys(k)),
    );
  }
});

test("the guest side: the key an agent sends passes the broker's check, and what the broker encrypts to it decrypts with it only", async () => {
  const mine = teeKeyPair();
  await checkTeePubkey(mine.publicJwk);
  const jwe = await encryptToTee(mine.publicJwk, Buffer.from('secret'));
  assert.equal((await decryptFromKbs(jwe, mine.privateKey)).toString(), 'secret');
  await assert.rejects(decryptFromKbs(jwe, teeKeyPair().privateKey));
  await assert.rejects(decryptFromKbs({ ...jwe, ciphertext: undefined }, mine.privateKey));
});

test('CoCo guests decrypt what the broker sends: their AAD is the protected header parsed and serialised again (kbs-types generate_aad), which the header matches byte for byte', async () => {
  const guest = cocoTeeKey();
  const jwe = await encryptToTee(guest.publicJwk, Buffer.from('image key'));
  assert.equal(
    Buffer.from(jwe.protected, 'base64url').toString(),
    JSON.stringify(JSON.parse(Buffer.from(jwe.protected, 'base64url').toString(), (_k, v) => v)),
  );
  assert.match(
    Buffer.from(jwe.protected, 'base64url').toString(),
    /^\{"alg":"ECDH-ES\+A256KW","enc":"A256GCM","epk":\{"crv":"P-256","kty":"EC","x":"[^"]+","y":"[^"]+"\}\}$/,
  );
  assert.equal((await cocoDecrypt({ ...jwe }, guest)).toString(), 'image key', 'the guest-components way');
  assert.equal((await decryptFromKbs(jwe, guest.privateKey)).toString(), 'image key', 'the standard way (jose)');
  const tampered = {
    ...jwe,
    protected: Buffer.from(
      Buffer.from(jwe.protected, 'base64url').toString().replace('"enc":"A256GCM"', '"enc":"A256GCM","zip":"x"'),
    ).toString('base64url'),
  };
  await assert.rejects(cocoDecrypt(tampered, guest));
});
