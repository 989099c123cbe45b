import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { errorKind, isCloakError, type CloakError } from '../lib/index.ts';
import { workloadInitData } from '../manifest/index.ts';
import { tdxVerifier, sgxVerifier, snpVerifier, type EvidenceVerifier, type VerifyContext } from '../attest/index.ts';
import { DEFAULT_ATTESTATION_POLICY } from '../policy/index.ts';
import { KeyBroker, TokenIssuer, readEar, KBS_ERRORS } from './index.ts';
import { testdata } from '../lib/testing/testdata.ts';
import { attestOnce, memoryStore, teePubkey } from './testing/broker.ts';

const EV = testdata('evidence');
// Without the captures the cases below hold nothing and every test is skipped.
const json = (p: string) => (EV.skip ? undefined : EV.json(p));
const quote = (p: string) => (EV.skip ? undefined : { quote: EV.read(p).toString('base64') });
/** The operator's attestation policy for these captures: the default, also accepting the SGX capture's TCB status. */
const ACCEPT_CAPTURED_TCB = DEFAULT_ATTESTATION_POLICY.replace(
  'acceptedTcbStatuses: [UpToDate, SWHardeningNeeded]',
  'acceptedTcbStatuses: [UpToDate, SWHardeningNeeded, ConfigurationAndSWHardeningNeeded]',
);

/**
 * TEST ONLY: a capture's report-data was made for someone else's challenge
 * and its init-data field holds someone else's digest, so this test accepts
 * exactly what the capture holds instead of a fresh binding. Everything
 * else (hardware chain, appraisal, manifest release) is the real path.
 */
function bindingRelaxedForCapture(
  verifier: EvidenceVerifier,
  captured: { reportData: Buffer; initData?: Buffer },
): EvidenceVerifier {
  return { ...verifier, expectedReportData: () => captured.reportData, expectedInitData: () => captured.initData };
}

const cases: Array<{
  tee: string;
  verifier: EvidenceVerifier;
  evidence: unknown;
  at: string;
  trust?: VerifyContext['trust'];
  attestationPolicy?: string;
}> = [
  {
    tee: 'tdx',
    verifier: tdxVerifier,
    evidence: quote('tdx/dcap-qvl_tdx_quote.dat'),
    at: '2025-07-01T00:00:00Z',
    trust: { dcap: { collateral: json('tdx/dcap-qvl_tdx_quote_collateral.json') } },
    attestationPolicy: ACCEPT_CAPTURED_TCB,
  },
  {
    tee: 'sgx',
    verifier: sgxVerifier,
    evidence: quote('sgx/dcap-qvl_sgx_quote.dat'),
    at: '2025-07-01T00:00:00Z',
    trust: { dcap: { collateral: json('sgx/dcap-qvl_sgx_quote_collateral.json') } },
    attestationPolicy: ACCEPT_CAPTURED_TCB,
  },
  { tee: 'snp', verifier: snpVerifier, evidence: json('coco/snp-evidence.json'), at: '2025-06-01T00:00:00Z' },
];

const SECRET = 'default/secret/db';
const owner = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ format: 'pem', type: 'spki' })
  .toString();
const initData = workloadInitData({ name: 'app', images: [], secrets: [{ resource: SECRET, file: 'db' }] });
const manifestText = (tee: string, measurement: string) => `version: 1
owners:
  users:
    - name: alice
      publicKey: |
${owner
  .trim()
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
secrets:
  - name: db
    resource: ${SECRET}
workloads:
  - name: app
    tees: [${tee}]
    referenceValues:
      measurements: [${measurement}]
      initData: [${createHash('sha256').update(initData).digest('hex')}]
    secrets:
      - name: db
        file: db
`;

for (const c of cases) {
  test(
    `KBS with tee ${c.tee}: a workload whose manifest lists measurements gets its secret when the launch measurement matches, and is refused when it does not`,
    { skip: EV.skip },
    async () => {
      const ctx = { now: new Date(c.at), trust: c.trust };
      const captured = await c.verifier.verify(c.evidence, ctx);
      const measured = captured.claims.measurement;
      assert.equal(typeof measured, 'string', `the ${c.tee} verifier reports the common "measurement" claim`);

      const release = async (manifestMeasurement: string) => {
        const store = await memoryStore();
        try {
          const text = manifestText(c.tee, manifestMeasurement);
          // Stored as the admin API stores a manifest once its owner signatures checked out.
          await store.putManifest({
            version: 1,
            digest: 'sha256:' + createHash('sha256').update(text).digest('hex'),
            text,
            signatures: [],
          });
          // The operator also records the measurement as a reference value: the default attestation policy then checks it too.
          await store.putReferenceValue('app-launch', { measurement: measured });
          await store.putResource(SECRET, Buffer.from('s3cret'));
          if (c.attestationPolicy) await store.setPolicy('attestation', c.attestationPolicy);
          const tokens = await TokenIssuer.load(store, 'test');
          const broker = new KeyBroker({
            store,
            tokens,
            verifiers: [bindingRelaxedForCapture(c.verifier, captured)],
            trust: c.trust,
            clock: () => new Date(c.at),
          });
          const jwk = teePubkey();
          const token = await attestOnce(broker, c.tee, c.evidence, jwk, initData);
          const status = readEar(await tokens.verify(token, new Date(c.at))).status;
          assert.equal(
            status,
            manifestMeasurement === measured ? 'affirming' : 'warning',
            'the default attestation policy affirms only the pinned measurement',
          );
          return await broker.resource({ bearer: token }, SECRET);
        } finally {
          await store.close();
        }
      };

      assert.ok((await release(String(measured))).ciphertext, "released when the measurement is the manifest's");
      const other = String(measured).replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
      await assert.rejects(
        release(other),
        (e) =>
          isCloakError(e, 'KBS_POLICY_DENY') &&
          /launch measurement is not pinned/.test((e as Error).message) &&
          (e as Error).message.includes(String(measured)) &&
          errorKind(e as CloakError, KBS_ERRORS) === 'forbidden',
      );
    },
  );
}
