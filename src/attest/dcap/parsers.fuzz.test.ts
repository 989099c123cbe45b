import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { isCloakError, x509 } from '../../lib/index.ts';
import { extractSignedBody, loadQuoteCollateral } from './collateral.ts';
import { parsePckExtensions, SGX_EXTENSIONS_OID } from './pck-extensions.ts';
import { parseQuote } from './quote.ts';
import { parseQeIdentity, parseTcbInfo } from './tcb-info.ts';
import { verifyQuoteSignatures } from './verify.ts';
import { NO_EVIDENCE, readEvidence } from './testing/self-made.ts';
import { seededRandom } from '../../lib/testing/mutator.ts';

/** Seeded fuzzing: only CloakError may escape, and no mutated signed byte may be accepted. DCAP_FUZZ_ITERATIONS raises the count. */
const ITERATIONS = Number(process.env.DCAP_FUZZ_ITERATIONS ?? 2000);

function onlyCloakErrors(fn: () => unknown): 'ok' | 'rejected' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!isCloakError(e)) throw new Error(`untyped exception: ${String(e)}`, { cause: e });
    return 'rejected';
  }
}

const QUOTES = [
  { file: 'sgx/dcap-qvl_sgx_quote.dat', tee: 'sgx' as const, at: new Date('2025-07-01T00:00:00Z') },
  { file: 'sgx/occlum_quote.dat', tee: 'sgx' as const, at: new Date('2023-07-01T00:00:00Z') },
  { file: 'tdx/dcap-qvl_tdx_quote.dat', tee: 'tdx' as const, at: new Date('2025-07-01T00:00:00Z') },
  { file: 'tdx/tdx_prod_quote_SPR_E4.dat', tee: 'tdx' as const, at: new Date('2023-07-01T00:00:00Z') },
  { file: 'tdx/quote_v5_sample.dat', tee: 'tdx' as const, at: new Date('2026-06-01T00:00:00Z') },
];

describe('dcap fuzz (seeded)', { skip: NO_EVIDENCE }, () => {
  for (const [n, q] of QUOTES.entries()) {
    it(`${q.file}: ${ITERATIONS} truncations / flips / random bytes: only CloakError, no mutated verified byte accepted`, () => {
      const real = readEvidence(q.file);
      const parsed = parseQuote(real);
      // The PEM text (its whitespace may vary) and the padding after the signature data are not covered by any signature.
      const pemStart = parsed.signatureData.qe.certification.data.byteOffset - real.byteOffset;
      const rand = seededRandom(0xdcab + n);
      let rejected = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const mode = i % 4;
        let m: Buffer;
        const touched: number[] = [];
        if (mode === 0) m = Buffer.from(real.subarray(0, rand(real.length)));
        else if (mode === 3) m = Buffer.from(Array.from({ length: rand(1200) }, () => rand(256)));
        else {
          m = Buffer.from(real);
          const flips = 1 + rand(mode === 1 ? 1 : 8);
          for (let f = 0; f < flips; f++) {
            const at = rand(m.length);
            m[at] = m[at]! ^ (1 + rand(255));
            touched.push(at);
          }
        }
        onlyCloakErrors(() => parseQuote(m));
        const outcome = onlyCloakErrors(() => verifyQuoteSignatures(m, q.tee, q.at));
        if (outcome === 'ok' && mode !== 0)
          assert.ok(
            touched.every((t) => t >= pemStart),
            `a mutation at ${touched.join(',')} was accepted`,
          );
        if (outcome === 'ok' && mode === 0)
          assert.ok(m.length >= parsed.signedBytes.length, 'a truncated quote was accepted');
        if (outcome === 'rejected') rejected++;
      }
      assert.ok(rejected > ITERATIONS / 2);
    });
  }

  it('collateral and PCK extension parsers: only CloakError on mutated inputs', () => {
    const c = loadQuoteCollateral(readEvidence('tdx/dcap-qvl_tdx_quote_collateral.json').toString('utf8'));
    const pemChain = parseQuote(
      readEvidence('tdx/dcap-qvl_tdx_quote.dat'),
    ).signatureData.qe.certification.data.toString('latin1');
    const ext = Buffer.from(
      new x509.X509Certificate(new X509Certificate(pemChain).raw).getExtension(SGX_EXTENSIONS_OID)!.value,
    );
    const response = `{"tcbInfo":${c.tcbInfo},"signature":"${c.tcbInfoSignature}"}`;
    const rand = seededRandom(0x5eed);
    const mutateText = (s: string) => {
      const a = s.split('');
      for (let k = 0, n = 1 + rand(4); k < n; k++) a[rand(a.length)] = String.fromCharCode(32 + rand(95));
      return rand(10) < 3 ? a.join('').slice(0, rand(a.length)) : a.join('');
    };
    for (let i = 0; i < ITERATIONS; i++) {
      onlyCloakErrors(() => parseTcbInfo(mutateText(c.tcbInfo)));
      onlyCloakErrors(() => parseQeIdentity(mutateText(c.qeIdentity)));
      onlyCloakErrors(() => extractSignedBody(mutateText(response), 'tcbInfo'));
      const e = Buffer.from(ext);
      const at = rand(e.length);
      e[at] = e[at]! ^ (1 + rand(255));
      onlyCloakErrors(() => parsePckExtensions(rand(10) < 3 ? e.subarray(0, rand(e.length)) : e));
    }
  });
});
