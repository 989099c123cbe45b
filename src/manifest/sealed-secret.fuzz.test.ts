import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { isCloakError } from '../lib/index.ts';
import { FUZZ_ITERATIONS, mutator } from '../lib/testing/mutator.ts';
import { parseSealedSecret, sealVaultSecret, sealingPublicJwk, verifySealedSecret } from './sealed-secret.ts';

test('fuzz: the sealed-secret parser throws only CloakError, and verification accepts no mutation', async () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const good = await sealVaultSecret({ resource: 'default/secret/db', kid: 'default/sealing/key', key: privateKey });
  const pub = sealingPublicJwk(privateKey);
  const { mutate } = mutator(16);
  // Mutate the text and the decoded payload, so mutations reach the JSON checks too.
  const [, h, p, s] = good.split('.');
  const payload = Buffer.from(p!, 'base64url');
  for (let i = 0; i < FUZZ_ITERATIONS; i++) {
    const input =
      i % 2
        ? mutate(Buffer.from(good)).toString('latin1')
        : `sealed.${h}.${mutate(payload).toString('base64url')}.${s}`;
    try {
      parseSealedSecret(input);
    } catch (e) {
      assert.ok(isCloakError(e), `${String(e)} for ${JSON.stringify(input).slice(0, 200)}`);
    }
    if (input !== good && i % 20 === 0) await assert.rejects(verifySealedSecret(input, pub), (e) => isCloakError(e));
  }
});
