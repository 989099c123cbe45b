import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isCloakError } from '../../src/lib/index.ts';
import { makeAzSnpVtpmVerifier, HCL_HEADER_SIZE } from '../../src/attest/index.ts';
import { azSnpHardware } from '../../src/server/verifiers.ts';
import { testdata } from '../../src/lib/testing/testdata.ts';

const EV = testdata('evidence');
const shared = EV.path;
const verifier = makeAzSnpVtpmVerifier(azSnpHardware);
const ctx = { now: new Date('2025-02-01T00:00:00Z') };

test(
  'real Azure SEV-SNP CVM evidence (v0, v1, v2) verifies end to end: AMD chain and SNP signature, HCL, runtime claims, vTPM quote',
  { skip: EV.skip },
  async () => {
    for (const v of [0, 1, 2]) {
      const evidence = JSON.parse(readFileSync(shared(`az-snp-vtpm/evidence-v${v}.json`), 'utf8'));
      const r = await verifier.verify(evidence, ctx);
      assert.equal(r.tee, 'az-snp-vtpm');
      assert.equal(r.insecure, false);
      assert.equal(typeof r.claims.measurement, 'string', `v${v}: SNP claims present`);
    }
  },
);

test(
  "Azure SNP evidence: a flipped byte in the SNP report's measurement fails the AMD signature; after the VCEK's window it is refused",
  { skip: EV.skip },
  async () => {
    const evidence = JSON.parse(readFileSync(shared('az-snp-vtpm/evidence-v2.json'), 'utf8'));
    const hcl = Buffer.from(evidence.hcl_report, 'base64url');
    hcl[HCL_HEADER_SIZE + 0x90]! ^= 1; // SNP report field MEASUREMENT
    await assert.rejects(verifier.verify({ ...evidence, hcl_report: hcl.toString('base64url') }, ctx), (e) =>
      isCloakError(e, 'SNP_SIGNATURE_INVALID'),
    );
    await assert.rejects(verifier.verify(evidence, { now: new Date('2040-01-01T00:00:00Z') }), (e) =>
      isCloakError(e, 'SNP_CERT_EXPIRED'),
    );
  },
);
