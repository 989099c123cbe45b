import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCloakError } from '../../lib/index.ts';
import { readAkPublic } from '../../attest/tpm/index.ts';
import { FUZZ_ITERATIONS, mutator } from '../../lib/testing/mutator.ts';
import { testdata } from '../../lib/testing/testdata.ts';
import { TpmClient } from './tpm-client.ts';
import type { TpmTransport } from './tpm-transport.ts';
import { tpm2b, u16, u32 } from './tpm-wire.ts';

const EV = testdata('evidence');

/** Well-formed responses built here from the TPM 2.0 Part 3 layouts (the swtpm test exercises real ones). */
function response(params: Buffer, sessions: boolean): Buffer {
  const body = sessions ? Buffer.concat([u32(params.length), params, Buffer.from('0000010000', 'hex')]) : params;
  return Buffer.concat([u16(sessions ? 0x8002 : 0x8001), u32(10 + body.length), u32(0), body]);
}
const PCR_READ = response(
  Buffer.concat([
    u32(1),
    u32(1),
    u16(0x000b),
    Buffer.from([3, 0xff, 0, 0]),
    u32(8),
    ...Array.from({ length: 8 }, (_, i) => tpm2b(Buffer.alloc(32, i))),
  ]),
  false,
);
const NV_PUBLIC = response(
  Buffer.concat([
    tpm2b(Buffer.concat([u32(0x01400001), u16(0x000b), u32(0x60006), u16(0), u16(100)])),
    tpm2b(Buffer.alloc(34, 1)),
  ]),
  false,
);
const NV_READ = response(tpm2b(Buffer.alloc(100, 7)), true);
/** The Quote and ReadPublic responses carry the real capture's quote and AK modulus. */
function fromCapture(): { QUOTE: Buffer; READ_PUBLIC: Buffer } {
  const REAL = EV.json('tpm/tpm_evidence.json');
  const N = Buffer.from(readAkPublic(REAL.ak_public).export({ format: 'jwk' }).n!, 'base64url');
  const TPMT = Buffer.concat([Buffer.from('0001000b00050072000000100014000b080000000000', 'hex'), tpm2b(N)]);
  const QUOTE = response(
    Buffer.concat([
      tpm2b(Buffer.from(REAL.tpm_quote.message, 'base64')),
      Buffer.from(REAL.tpm_quote.signature, 'base64'),
    ]),
    true,
  );
  return {
    QUOTE,
    READ_PUBLIC: response(Buffer.concat([tpm2b(TPMT), tpm2b(Buffer.alloc(34, 1)), tpm2b(Buffer.alloc(34, 2))]), false),
  };
}
const CAP = response(Buffer.concat([Buffer.from([0]), u32(6), u32(1), u32(0x12c), u32(1024)]), false);

function fuzzTransport(seed: number, pick: (cc: number) => Buffer): TpmTransport {
  const { mutate, rand } = mutator(seed);
  return {
    async transmit(cmd) {
      const valid = pick(cmd.readUInt32BE(6));
      return rand(3) === 0 ? valid : mutate(valid);
    },
    close() {},
  };
}

test(
  `fuzz: the TPM client's response parsing throws only CloakError (${FUZZ_ITERATIONS} seeded responses per command)`,
  { skip: EV.skip },
  async () => {
    const { QUOTE, READ_PUBLIC } = fromCapture();
    const byCc = (cc: number) =>
      (
        ({ 0x17e: PCR_READ, 0x158: QUOTE, 0x169: NV_PUBLIC, 0x14e: NV_READ, 0x173: READ_PUBLIC, 0x17a: CAP }) as Record<
          number,
          Buffer
        >
      )[cc] ?? CAP;
    // Sanity: the well-formed responses parse.
    const ok = new TpmClient({
      async transmit(c) {
        return byCc(c.readUInt32BE(6));
      },
      close() {},
    });
    assert.equal((await ok.nvReadAll(0x01400001)).length, 100);
    assert.equal((await ok.quote(0x81000003, Buffer.alloc(32))).parsedSignature.alg, 'rsassa');
    assert.equal((await ok.readPublic(0x81000003)).key.asymmetricKeyType, 'rsa');
    const calls: Array<[string, (c: TpmClient) => Promise<unknown>]> = [
      ['PCR_Read', (c) => c.pcrRead([0, 1, 2, 3, 4, 5, 6, 7])],
      ['Quote', (c) => c.quote(0x81000003, Buffer.alloc(32))],
      ['NV_ReadPublic + NV_Read', (c) => c.nvReadAll(0x01400001)],
      ['ReadPublic', (c) => c.readPublic(0x81000003)],
    ];
    for (const [k, [name, call]] of calls.entries()) {
      const client = new TpmClient(fuzzTransport(100 + k, byCc));
      for (let i = 0; i < FUZZ_ITERATIONS; i++) {
        try {
          await call(client);
        } catch (e) {
          if (!isCloakError(e)) assert.fail(`${name}: non-CloakError: ${(e as Error).stack}`);
        }
      }
    }
  },
);
