import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isCloakError } from '../../lib/index.ts';
import {
  encodePcrSelection,
  parseTpmPublic,
  parseTpmQuote,
  readAkPublic,
  spkiDer,
  tpmVerifier,
  makeTpmVerifier,
  verifyTpmQuote,
  TPM_ALG,
} from './index.ts';
import { testdata } from '../../lib/testing/testdata.ts';

const EV = testdata('evidence');
const REAL = EV.skip ? undefined : EV.json('tpm/tpm_evidence.json'); // the tests that read it are skipped without it
const NOW = new Date('2025-02-01T00:00:00Z');
const akPem = (ev: { ak_public: string }) =>
  readAkPublic(ev.ak_public).export({ format: 'pem', type: 'spki' }) as string;
const trustReal = { tpm: { trustedAks: REAL ? [akPem(REAL)] : [] } };
const clone = () => structuredClone(REAL) as typeof REAL;
const b64edit = (s: string, at: number, xor = 1) => {
  const b = Buffer.from(s, 'base64');
  b[at]! ^= xor;
  return b.toString('base64');
};

async function rejects(p: Promise<unknown> | (() => unknown), code: string) {
  await assert.rejects(
    async () => (typeof p === 'function' ? p() : p),
    (e: unknown) =>
      isCloakError(e, code) ||
      assert.fail(`expected ${code}, got ${(e as Error).message} ${(e as { code?: string }).code}`),
  );
}

test(
  'real CoCo tpm capture (trustee test_data): quote verifies with an enrolled AK, PCR digest matches',
  { skip: EV.skip },
  async () => {
    const v = await tpmVerifier.verify(REAL, { now: NOW, trust: trustReal });
    assert.equal(v.tee, 'tpm');
    assert.equal(v.insecure, false);
    assert.equal(v.reportData.length, 64);
    // The capture's nonce is a 48-byte SHA-384 binding zero-padded to 64: expectedReportData reproduces that shape.
    assert.deepEqual(tpmVerifier.expectedReportData(v.reportData.subarray(0, 48)), v.reportData);
    assert.equal((v.claims.quote as { firmware_version: string }).firmware_version, '2019102300163636');
    assert.equal(v.claims.pcr17, 'f'.repeat(64));
    assert.deepEqual(v.initData, Buffer.alloc(32));
    // File bytes (CLI path) work the same.
    await tpmVerifier.verify(Buffer.from(JSON.stringify(REAL)), { now: NOW, trust: trustReal });
    assert.equal(
      makeTpmVerifier({ bindingBytes: 32 })
        .expectedReportData(Buffer.alloc(48, 7))
        .subarray(32)
        .every((b) => b === 0),
      true,
    );
  },
);

test('tpm capture: each broken link has its own code', { skip: EV.skip }, async () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
    format: 'pem',
    type: 'spki',
  }) as string;
  const table: Array<[string, () => unknown, string, Record<string, unknown>?]> = [
    ['AK not enrolled (no trust)', () => REAL, 'TPM_AK_NOT_TRUSTED', {}],
    [
      'AK not enrolled (self-made other key trusted)',
      () => REAL,
      'TPM_AK_NOT_TRUSTED',
      { tpm: { trustedAks: [other] } },
    ],
    [
      'quote clock byte flipped',
      () => {
        const e = clone();
        e.tpm_quote.message = b64edit(e.tpm_quote.message, 110);
        return e;
      },
      'TPM_SIGNATURE_INVALID',
    ],
    [
      'nonce byte flipped',
      () => {
        const e = clone();
        e.tpm_quote.message = b64edit(e.tpm_quote.message, 50);
        return e;
      },
      'TPM_SIGNATURE_INVALID',
    ],
    [
      'signature byte flipped',
      () => {
        const e = clone();
        e.tpm_quote.signature = b64edit(e.tpm_quote.signature, 40);
        return e;
      },
      'TPM_SIGNATURE_INVALID',
    ],
    [
      'PCR 8 changed',
      () => {
        const e = clone();
        e.tpm_quote.pcrs[8] = '11'.repeat(32);
        return e;
      },
      'TPM_PCR_DIGEST_MISMATCH',
    ],
    [
      'PCR missing',
      () => {
        const e = clone();
        e.tpm_quote.pcrs.pop();
        return e;
      },
      'TPM_PCR_MISSING',
    ],
    [
      'magic',
      () => {
        const e = clone();
        e.tpm_quote.message = b64edit(e.tpm_quote.message, 0);
        return e;
      },
      'TPM_QUOTE_MAGIC',
    ],
    [
      'type',
      () => {
        const e = clone();
        e.tpm_quote.message = b64edit(e.tpm_quote.message, 5, 0x02);
        return e;
      },
      'TPM_QUOTE_TYPE',
    ],
    [
      'truncated message',
      () => {
        const e = clone();
        e.tpm_quote.message = Buffer.from(e.tpm_quote.message, 'base64').subarray(0, 100).toString('base64');
        return e;
      },
      'TPM_QUOTE_MALFORMED',
    ],
    [
      'unsupported signature alg',
      () => {
        const e = clone();
        e.tpm_quote.signature = b64edit(e.tpm_quote.signature, 1, 0x30);
        return e;
      },
      'TPM_SIGNATURE_UNSUPPORTED',
    ],
    [
      'PCR not hex',
      () => {
        const e = clone();
        e.tpm_quote.pcrs[0] = 'zz'.repeat(32);
        return e;
      },
      'TPM_EVIDENCE_MALFORMED',
    ],
    ['not an object', () => [1], 'TPM_EVIDENCE_MALFORMED'],
  ];
  for (const [name, make, code, trust] of table) {
    await rejects(tpmVerifier.verify(make(), { now: NOW, trust: trust ?? trustReal }), code).catch((e) =>
      assert.fail(`${name}: ${e.message}`),
    );
  }
});

// Self-made keys and quotes (Node crypto), to cover the RSAPSS and ECDSA P-256 forms and TPMT_PUBLIC parsing.
function selfMadeQuote(pcrs: Buffer[], nonce: Buffer): Buffer {
  const sel = encodePcrSelection([{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 7, 8] }]);
  const digest = createHash('sha256')
    .update(Buffer.concat([pcrs[0]!, pcrs[7]!, pcrs[8]!]))
    .digest();
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  };
  return Buffer.concat([
    Buffer.from('ff5443478018', 'hex'),
    u16(4),
    Buffer.from('000b0102', 'hex'),
    u16(nonce.length),
    nonce,
    Buffer.alloc(8, 1),
    Buffer.alloc(8, 0),
    Buffer.from([1]),
    Buffer.alloc(8, 2),
    sel,
    u16(32),
    digest,
  ]);
}
function tpmtSignature(alg: 'rsapss' | 'ecdsa', key: KeyObject, msg: Buffer): Buffer {
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  };
  if (alg === 'rsapss') {
    const s = createSign('sha256').update(msg).sign({ key, padding: 6, saltLength: 222 });
    return Buffer.concat([u16(TPM_ALG.RSAPSS), u16(TPM_ALG.SHA256), u16(s.length), s]);
  }
  const s = createSign('sha256').update(msg).sign({ key, dsaEncoding: 'ieee-p1363' });
  return Buffer.concat([u16(TPM_ALG.ECDSA), u16(TPM_ALG.SHA256), u16(32), s.subarray(0, 32), u16(32), s.subarray(32)]);
}
function tpmtPublic(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  };
  const head = (type: number) =>
    Buffer.concat([u16(type), u16(TPM_ALG.SHA256), Buffer.from('00050072', 'hex'), u16(0), u16(TPM_ALG.NULL)]);
  if (jwk.kty === 'RSA') {
    const n = Buffer.from(jwk.n!, 'base64url');
    return Buffer.concat([
      head(TPM_ALG.RSA),
      u16(TPM_ALG.RSASSA),
      u16(TPM_ALG.SHA256),
      u16(2048),
      Buffer.alloc(4),
      u16(n.length),
      n,
    ]);
  }
  const x = Buffer.from(jwk.x!, 'base64url');
  const y = Buffer.from(jwk.y!, 'base64url');
  return Buffer.concat([
    head(TPM_ALG.ECC),
    u16(TPM_ALG.ECDSA),
    u16(TPM_ALG.SHA256),
    u16(3),
    u16(TPM_ALG.NULL),
    u16(32),
    x,
    u16(32),
    y,
  ]);
}

test('self-made RSAPSS and ECDSA P-256 quotes with TPMT_PUBLIC keys verify; mutations are refused', () => {
  const pcrs = Array.from({ length: 24 }, (_, i) => createHash('sha256').update(String(i)).digest());
  for (const [alg, kp] of [
    ['rsapss', generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['ecdsa', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ] as const) {
    const msg = selfMadeQuote(pcrs, Buffer.alloc(32, 9));
    const sig = tpmtSignature(alg, kp.privateKey, msg);
    const pub = tpmtPublic(kp.publicKey);
    const ak = parseTpmPublic(pub).key;
    assert.deepEqual(spkiDer(ak), spkiDer(kp.publicKey));
    const lenPrefixed = Buffer.concat([Buffer.from([pub.length >> 8, pub.length & 0xff]), pub]);
    assert.deepEqual(spkiDer(readAkPublic(lenPrefixed)), spkiDer(kp.publicKey));
    const q = verifyTpmQuote({ message: msg, signature: sig, pcrs }, ak);
    assert.equal(q.signature.alg, alg);
    assert.deepEqual(q.pcrSelection, [{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 7, 8] }]);
    // Values supplied for PCRs outside the quote are dropped, never reported as verified.
    assert.deepEqual(
      q.pcrs.flatMap((p, i) => (p ? [i] : [])),
      [0, 7, 8],
    );
    const bad = Buffer.from(sig);
    bad[bad.length - 3]! ^= 1;
    assert.throws(
      () => verifyTpmQuote({ message: msg, signature: bad, pcrs }, ak),
      (e) => isCloakError(e, 'TPM_SIGNATURE_INVALID'),
    );
    const pcrs2 = pcrs.slice();
    pcrs2[7] = Buffer.alloc(32);
    assert.throws(
      () => verifyTpmQuote({ message: msg, signature: sig, pcrs: pcrs2 }, ak),
      (e) => isCloakError(e, 'TPM_PCR_DIGEST_MISMATCH'),
    );
    const other =
      alg === 'ecdsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey
        : generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    assert.throws(
      () => verifyTpmQuote({ message: msg, signature: sig, pcrs }, other),
      (e) => isCloakError(e, 'TPM_SIGNATURE_KEY_MISMATCH'),
    );
  }
});

test('parseTpmQuote reads every field of the real quote', { skip: EV.skip }, () => {
  const q = parseTpmQuote(Buffer.from(REAL.tpm_quote.message, 'base64'));
  assert.equal(q.extraData.length, 64);
  assert.equal(q.qualifiedSigner.length, 34);
  assert.equal(q.resetCount, 2);
  assert.deepEqual(q.pcrSelection, [{ hashAlg: TPM_ALG.SHA256, pcrs: Array.from({ length: 24 }, (_, i) => i) }]);
});
