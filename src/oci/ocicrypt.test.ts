import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { isCloakError } from '../lib/index.ts';
import {
  encryptLayerStream,
  decryptLayerStream,
  parsePublicOptions,
  parsePrivateOptions,
  wrapForAttestationAgent,
  unwrapForAttestationAgent,
  attestationAgentKid,
} from './ocicrypt.ts';

async function collect(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('AES_256_CTR_HMAC_SHA256 round trip; a flipped ciphertext byte fails the HMAC at end of stream', async () => {
  const plain = randomBytes(300_000);
  const enc = encryptLayerStream();
  const cipher = await collect(Readable.from([plain]).pipe(enc.stream));
  const { priv, pub } = await enc.result;
  assert.equal(cipher.length, plain.length);
  assert.deepEqual(await collect(Readable.from([cipher]).pipe(decryptLayerStream(priv, pub))), plain);
  const bad = Buffer.from(cipher);
  bad[12345]! ^= 0x80;
  await assert.rejects(collect(Readable.from([bad]).pipe(decryptLayerStream(priv, pub))), (e) =>
    isCloakError(e, 'OCI_HMAC_MISMATCH'),
  );
  const packet = wrapForAttestationAgent(priv, Buffer.alloc(32, 7), 'kbs:///default/key/7');
  assert.equal(attestationAgentKid(packet), 'default/key/7');
  assert.deepEqual(unwrapForAttestationAgent(packet, Buffer.alloc(32, 7)), priv);
  assert.throws(
    () => unwrapForAttestationAgent(packet, Buffer.alloc(32, 8)),
    (e) => isCloakError(e, 'OCI_ENC_AA_UNWRAP'),
  );
});

test('fuzz: annotation parsers throw only CloakError', () => {
  let seed = 5;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const good = [
    Buffer.from(
      JSON.stringify({
        cipher: 'AES_256_CTR_HMAC_SHA256',
        hmac: randomBytes(32).toString('base64'),
        cipheroptions: {},
      }),
    ).toString('base64'),
    wrapForAttestationAgent(
      {
        symkey: randomBytes(32).toString('base64'),
        digest: 'sha256:' + 'a'.repeat(64),
        cipheroptions: { nonce: randomBytes(16).toString('base64') },
      },
      Buffer.alloc(32),
      'kbs:///default/key/1',
    ),
  ];
  for (let i = 0; i < 3000; i++) {
    const src = good[rand(2)]!;
    const decoded = Buffer.from(src, 'base64').toString();
    const chars = decoded.split('');
    for (let k = 0; k < 3; k++) chars.splice(rand(chars.length + 1), rand(3), '{"}:,1a'[rand(7)]!);
    const variants = [Buffer.from(chars.join('')).toString('base64'), chars.join(''), src.slice(0, rand(src.length))];
    for (const v of variants) {
      for (const f of [
        () => parsePublicOptions(v),
        () => attestationAgentKid(v),
        () => unwrapForAttestationAgent(v, Buffer.alloc(32)),
        () => parsePrivateOptions(Buffer.from(chars.join(''))),
      ]) {
        try {
          f();
        } catch (e) {
          assert.ok(isCloakError(e), String(e));
        }
      }
    }
  }
});
