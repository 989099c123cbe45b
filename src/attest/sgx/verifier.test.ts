import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCloakError } from '../../lib/index.ts';
import { NO_EVIDENCE, readEvidence, selfMadeDcap } from '../dcap/testing/self-made.ts';
import { sgxVerifier } from './verifier.ts';

const QUOTE = 'sgx/dcap-qvl_sgx_quote.dat';
const COLLATERAL = 'sgx/dcap-qvl_sgx_quote_collateral.json';
const AT = new Date('2025-07-01T00:00:00Z');
const collateral = () => JSON.parse(readEvidence(COLLATERAL).toString('utf8')) as Record<string, unknown>;

describe('sgxVerifier on the real SGX quote', { skip: NO_EVIDENCE }, () => {
  it('CoCo evidence {"quote": base64}: ConfigurationAndSWHardeningNeeded, INTEL-SA-00289 and INTEL-SA-00615, reported as claims', async () => {
    const v = await sgxVerifier.verify(
      { quote: readEvidence(QUOTE).toString('base64') },
      { now: AT, trust: { dcap: { collateral: collateral() } } },
    );
    assert.equal(v.tee, 'sgx');
    assert.equal(v.claims.tcb_status, 'ConfigurationAndSWHardeningNeeded');
    assert.deepEqual(v.claims.advisory_ids, ['INTEL-SA-00289', 'INTEL-SA-00615']);
    assert.equal(v.claims.fmspc, '00A067110000');
    assert.equal(v.claims.debug, false);
    assert.equal((v.claims.warnings as string[]).length, 1);
    assert.equal(v.reportData.toString('hex'), v.claims.report_data);
    assert.equal(v.initData?.toString('hex'), v.claims.config_id);
    for (const k of ['mr_enclave', 'mr_signer', 'isv_prod_id', 'isv_svn', 'attributes']) assert.ok(k in v.claims, k);
  });

  it('the raw quote: the same TCB status reported (the attestation policy, not the verifier, refuses it by default)', async () => {
    const v = await sgxVerifier.verify(readEvidence(QUOTE), { now: AT, trust: { dcap: { collateral: collateral() } } });
    assert.equal(v.claims.tcb_status, 'ConfigurationAndSWHardeningNeeded');
  });

  it('a TDX quote given to the SGX verifier → DCAP_QUOTE_WRONG_TEE', async () => {
    await assert.rejects(
      sgxVerifier.verify(readEvidence('tdx/dcap-qvl_tdx_quote.dat'), {
        now: AT,
        trust: { dcap: { collateral: collateral() } },
      }),
      (e) => isCloakError(e, 'DCAP_QUOTE_WRONG_TEE'),
    );
  });

  it('debug enclave (re-signed with a SELF-MADE chain) → reported as debug: true (the attestation policy refuses it)', async () => {
    const made = await selfMadeDcap(QUOTE, COLLATERAL, AT, {
      mutateBody: (body) => {
        body[48] = body[48]! | 0x02;
      },
    });
    const v = await sgxVerifier.verify(made.quote, {
      now: AT,
      trust: { dcap: { collateral: made.collateral, rootCaPem: made.rootPem } },
    });
    assert.equal(v.claims.debug, true);
  });

  it('binding: report data zero-padded to 64; init data = CONFIGID fitted to 64', () => {
    const d = Buffer.alloc(48, 9);
    assert.deepEqual(sgxVerifier.expectedReportData(d), Buffer.concat([d, Buffer.alloc(16)]));
    assert.deepEqual(
      sgxVerifier.expectedInitData!(Buffer.alloc(32, 1)),
      Buffer.concat([Buffer.alloc(32, 1), Buffer.alloc(32)]),
    );
  });
});
