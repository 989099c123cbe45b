// Init-data as Kata's parser (kata-types InitData) and the attestation agent take it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isCloakError } from './errors.ts';
import { decodeInitData, encodeInitData, initDataDigestHex, initDataText, readInitData } from './initdata.ts';
import { mutator, FUZZ_ITERATIONS } from './testing/mutator.ts';

const DATA = { 'cloak.toml': 'name = "web"\n', 'aa.toml': '[token_configs.kbs]\nurl = "https://kbs:8443"\n' };

test("initDataText writes what Kata accepts: version 0.1.0, the platform's algorithm, [data] of strings; the digest is over the exact text", () => {
  for (const algorithm of ['sha256', 'sha384', 'sha512'] as const) {
    const text = initDataText(DATA, algorithm);
    assert.deepEqual(readInitData(text), { version: '0.1.0', algorithm, data: DATA });
    assert.equal(initDataDigestHex(text), createHash(algorithm).update(text).digest('hex'));
    assert.equal(decodeInitData(encodeInitData(text)), text);
  }
  assert.throws(
    () => initDataText(DATA, 'md5' as never),
    (e) => isCloakError(e, 'INITDATA_ALGORITHM'),
  );
  assert.throws(
    () => initDataText({ 'a"b': 'x' }),
    (e) => isCloakError(e, 'INITDATA_ENTRY'),
  );
  assert.throws(
    () => initDataText({ a: "'''" }),
    (e) => isCloakError(e, 'INITDATA_ENTRY'),
  );
});

test("readInitData refuses what Kata's parser refuses", () => {
  const table: Array<[string, RegExp]> = [
    ['algorithm = "sha256"\n[data]\n', /version must be "0.1.0"/],
    ['version = "0.2.0"\nalgorithm = "sha256"\n[data]\n', /version must be "0.1.0"/],
    ['version = "0.1.0"\n[data]\n', /no algorithm/],
    ['version = "0.1.0"\nalgorithm = "md5"\n[data]\n', /algorithm "md5" is not supported/],
    ['version = "0.1.0"\nalgorithm = "sha256"\n', /no \[data\] table/],
    ['version = "0.1.0"\nalgorithm = "sha256"\ndata = "x"\n', /no \[data\] table/],
    ['version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = 3\n', /"aa.toml" must be a string/],
    ['version = "0.1.0"\nalgorithm = "sha256"\n[data.x]\ny = "z"\n', /"x" must be a string/],
    ['version = "0.1.0"\nalgorithm = "sha256"\n[data\n', /not valid TOML/],
  ];
  for (const [text, message] of table) {
    assert.throws(
      () => readInitData(text),
      (e) =>
        isCloakError(
          e,
          e instanceof Error && /algorithm "md5"/.test(e.message) ? 'INITDATA_ALGORITHM' : 'INITDATA_INVALID',
        ) && message.test((e as Error).message),
      text,
    );
  }
  // Kata ignores other top-level keys.
  assert.equal(readInitData('version = "0.1.0"\nalgorithm = "sha384"\nextra = 1\n[data]\n').algorithm, 'sha384');
});

test('fuzz: readInitData on mutated init-data returns a checked document or a CloakError', () => {
  const seed = Buffer.from(initDataText(DATA, 'sha384'));
  const { mutate } = mutator(16);
  for (let i = 0; i < FUZZ_ITERATIONS; i++) {
    const text = mutate(seed).toString('utf8');
    try {
      const doc = readInitData(text);
      assert.equal(doc.version, '0.1.0');
      assert.ok(Object.values(doc.data).every((v) => typeof v === 'string'));
    } catch (e) {
      assert.ok(isCloakError(e), `not a CloakError: ${(e as Error).message}`);
    }
  }
});
