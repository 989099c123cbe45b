import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorKind, isCloakError, initDataText, type CloakError } from '../lib/index.ts';
import { makeAzSnpVtpmVerifier, verifySnpReport, type EvidenceVerifier } from '../attest/index.ts';
import { KeyBroker, TokenIssuer, KBS_ERRORS } from './index.ts';
import { testdata } from '../lib/testing/testdata.ts';
import { attestOnce, memoryStore, teePubkey } from './testing/broker.ts';

const EV = testdata('evidence');
const evidence = EV.skip ? undefined : EV.json('az-snp-vtpm/evidence-v2.json');
const at = new Date('2025-02-01T00:00:00Z');

/** TEST ONLY: the capture's report-data answers another challenge, so the report-data check expects what it holds; the init-data check is the real one. */
function reportDataRelaxed(v: EvidenceVerifier): EvidenceVerifier {
  let held: Buffer | undefined;
  return {
    ...v,
    verify: async (e, ctx) => {
      const r = await v.verify(e, ctx);
      held = r.reportData;
      return r;
    },
    expectedReportData: () => held!,
  };
}

test(
  'init-data on a real az-snp-vtpm capture: a sha384 digest PCR 8 cannot hold is refused, a sha256 one PCR 8 does not hold is a mismatch',
  { skip: EV.skip },
  async () => {
    const store = await memoryStore();
    try {
      const broker = new KeyBroker({
        store,
        tokens: await TokenIssuer.load(store, 'test'),
        verifiers: [reportDataRelaxed(makeAzSnpVtpmVerifier((i, ctx) => verifySnpReport(i, ctx)))],
        clock: () => at,
      });
      const jwk = teePubkey();
      const attest = (body: string) => attestOnce(broker, 'az-snp-vtpm', evidence, jwk, body);
      const sha256 = initDataText({ 'cloak.toml': 'name = "app"\n' });
      await assert.rejects(
        attest(sha256.replace('algorithm = "sha256"', 'algorithm = "sha384"')),
        (e) =>
          isCloakError(e, 'KBS_INITDATA_UNBOUND') &&
          /sha256 digests only/.test((e as Error).message) &&
          errorKind(e as CloakError, KBS_ERRORS) === 'unauthorized',
      );
      await assert.rejects(
        attest(sha256),
        (e) => isCloakError(e, 'KBS_INITDATA_MISMATCH') && errorKind(e as CloakError, KBS_ERRORS) === 'unauthorized',
      );
    } finally {
      await store.close();
    }
  },
);
