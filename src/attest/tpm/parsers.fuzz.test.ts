import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCloakError } from '../../lib/index.ts';
import { parseTpmPublic, parseTpmQuote, parseTpmSignature, readAkPublic, verifyTpmQuote } from './index.ts';
import { FUZZ_ITERATIONS, mutator } from '../../lib/testing/mutator.ts';
import { testdata } from '../../lib/testing/testdata.ts';

const EV = testdata('evidence');

/** The seeds, from the real capture. */
function capture() {
  const REAL = EV.json('tpm/tpm_evidence.json');
  const AK = readAkPublic(REAL.ak_public);
  // A TPMT_PUBLIC carrying the real capture's AK modulus (RSA 2048, RSASSA-SHA256).
  const N = Buffer.from(AK.export({ format: 'jwk' }).n!, 'base64url');
  return {
    REAL,
    AK,
    MSG: Buffer.from(REAL.tpm_quote.message, 'base64'),
    SIG: Buffer.from(REAL.tpm_quote.signature, 'base64'),
    PCRS: (REAL.tpm_quote.pcrs as string[]).map((p) => Buffer.from(p, 'hex')),
    TPMT: Buffer.concat([Buffer.from('0001000b00050072000000100014000b080000000000', 'hex'), Buffer.from([1, 0]), N]),
  };
}

function onlyCloakErrors(name: string, seed: number, seedInput: Buffer, parse: (b: Buffer) => unknown) {
  const { mutate } = mutator(seed);
  let accepted = 0;
  for (let i = 0; i < FUZZ_ITERATIONS; i++) {
    const input = mutate(seedInput);
    try {
      parse(input);
      accepted++;
    } catch (e) {
      if (!isCloakError(e))
        assert.fail(`${name}: non-CloakError on input ${input.toString('hex')}: ${(e as Error).stack}`);
    }
  }
  return accepted;
}

test(`fuzz: TPM parsers throw only CloakError (${FUZZ_ITERATIONS} seeded inputs each)`, { skip: EV.skip }, () => {
  const { REAL, AK, MSG, SIG, PCRS, TPMT } = capture();
  assert.deepEqual(
    parseTpmPublic(TPMT).key.export({ format: 'der', type: 'spki' }),
    AK.export({ format: 'der', type: 'spki' }),
  );
  onlyCloakErrors('TPMS_ATTEST', 1, MSG, parseTpmQuote);
  onlyCloakErrors('TPMT_SIGNATURE', 2, SIG, parseTpmSignature);
  onlyCloakErrors('TPMT_PUBLIC', 3, TPMT, parseTpmPublic);
  onlyCloakErrors('AK public (DER or TPMT)', 4, Buffer.from(REAL.ak_public, 'base64'), readAkPublic);
  onlyCloakErrors('quote verification', 5, MSG, (m) => verifyTpmQuote({ message: m, signature: SIG, pcrs: PCRS }, AK));
  onlyCloakErrors('signature verification', 6, SIG, (s) =>
    verifyTpmQuote({ message: MSG, signature: s, pcrs: PCRS }, AK),
  );
});
