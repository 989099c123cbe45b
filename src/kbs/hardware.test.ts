import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errorKind, isCloakError, type CloakError } from '../lib/index.ts';
import { tdxVerifier, sgxVerifier, snpVerifier } from '../attest/index.ts';
import { KeyBroker, TokenIssuer, KBS_ERRORS } from './index.ts';
import { testdata } from '../lib/testing/testdata.ts';
import { attestOnce, memoryStore, teePubkey } from './testing/broker.ts';

const EV = testdata('evidence');
const shared = EV.path;

/**
 * The broker with the real DCAP verifiers on real captures, at a time inside
 * their collateral: the hardware evidence verifies, and the broker then
 * refuses because the captured report-data cannot bind a fresh nonce and key.
 * A tampered quote is refused earlier, by the verifier.
 */
for (const [tee, verifier, quoteFile, collateralFile, at] of [
  ['tdx', tdxVerifier, 'tdx/dcap-qvl_tdx_quote.dat', 'tdx/dcap-qvl_tdx_quote_collateral.json', '2025-07-01T00:00:00Z'],
  ['sgx', sgxVerifier, 'sgx/dcap-qvl_sgx_quote.dat', 'sgx/dcap-qvl_sgx_quote_collateral.json', '2025-07-01T00:00:00Z'],
] as const) {
  test(
    `KBS with tee ${tee}: real quote verifies, report-data binding is enforced, tampering refused`,
    { skip: EV.skip },
    async () => {
      const store = await memoryStore();
      const collateral = JSON.parse(readFileSync(shared(collateralFile), 'utf8'));
      const tokens = await TokenIssuer.load(store, 'test');
      const broker = new KeyBroker({
        store,
        tokens,
        verifiers: [verifier],
        clock: () => new Date(at),
        trust: { dcap: { collateral } },
      });
      const quote = readFileSync(shared(quoteFile));
      const jwk = teePubkey();
      const attest = (q: Buffer) => attestOnce(broker, tee, { quote: q.toString('base64') }, jwk);
      await assert.rejects(
        attest(quote),
        (e) => isCloakError(e, 'KBS_REPORT_DATA_MISMATCH') && errorKind(e as CloakError, KBS_ERRORS) === 'unauthorized',
      );
      const tampered = Buffer.from(quote);
      tampered[100]! ^= 1;
      await assert.rejects(
        attest(tampered),
        (e) =>
          isCloakError(e, 'DCAP_QUOTE_SIGNATURE_INVALID') && errorKind(e as CloakError, KBS_ERRORS) === 'unauthorized',
      );
      const refusals = await store.queryAuditCounts({ kind: 'kbs.attest' });
      assert.deepEqual(refusals.map((r) => r.code).sort(), [
        'DCAP_QUOTE_SIGNATURE_INVALID',
        'KBS_REPORT_DATA_MISMATCH',
      ]);
      assert.deepEqual(await store.queryAudit({ kind: 'kbs.attest' }), [], 'refusals are counted, not chained');
      await store.close();
    },
  );
}

test(
  'KBS with tee snp: the real CoCo SNP evidence (Genoa, VCEK in cert_chain) verifies, then the binding is enforced; a tampered report is refused',
  { skip: EV.skip },
  async () => {
    const store = await memoryStore();
    const tokens = await TokenIssuer.load(store, 'test');
    const broker = new KeyBroker({
      store,
      tokens,
      verifiers: [snpVerifier],
      clock: () => new Date('2025-06-01T00:00:00Z'),
    });
    const evidence = JSON.parse(readFileSync(shared('coco/snp-evidence.json'), 'utf8'));
    const jwk = teePubkey();
    const attest = (e: unknown) => attestOnce(broker, 'snp', e, jwk);
    await assert.rejects(attest(evidence), (e) => isCloakError(e, 'KBS_REPORT_DATA_MISMATCH'));
    const tampered = structuredClone(evidence);
    tampered.attestation_report.guest_svn = 1;
    await assert.rejects(
      attest(tampered),
      (e) => isCloakError(e, 'SNP_SIGNATURE_INVALID') && errorKind(e as CloakError, KBS_ERRORS) === 'unauthorized',
    );
    await store.close();
  },
);
