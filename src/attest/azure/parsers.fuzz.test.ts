import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCloakError } from '../../lib/index.ts';
import { FUZZ_ITERATIONS, mutator } from '../../lib/testing/mutator.ts';
import { testdata } from '../../lib/testing/testdata.ts';
import { checkAzVtpm, parseAzSnpEvidence, parseAzTdxEvidence, parseHclReport, parseRuntimeClaims } from './index.ts';

const EV = testdata('evidence');

function onlyCloakErrors(name: string, seed: number, seedInput: Buffer, parse: (b: Buffer) => unknown) {
  const { mutate } = mutator(seed);
  for (let i = 0; i < FUZZ_ITERATIONS; i++) {
    const input = mutate(seedInput);
    try {
      parse(input);
    } catch (e) {
      if (!isCloakError(e))
        assert.fail(`${name}: non-CloakError on input ${input.toString('hex').slice(0, 400)}: ${(e as Error).stack}`);
    }
  }
}

const hclPipeline = (kind: 'snp' | 'tdx', evidence: Buffer) => (hcl: Buffer) => {
  const e = JSON.parse(evidence.toString());
  e.hcl_report = hcl.toString('base64url');
  return checkAzVtpm(kind, kind === 'snp' ? parseAzSnpEvidence(e) : parseAzTdxEvidence(e));
};
const jsonPipeline = (kind: 'snp' | 'tdx') => (text: Buffer) => {
  let e: unknown;
  try {
    e = JSON.parse(text.toString());
  } catch {
    return;
  }
  return checkAzVtpm(kind, kind === 'snp' ? parseAzSnpEvidence(e) : parseAzTdxEvidence(e));
};

test(
  `fuzz: HCL report, runtime claims and Azure evidence parsers throw only CloakError (${FUZZ_ITERATIONS} seeded inputs each)`,
  { skip: EV.skip },
  () => {
    const SNP_V2 = EV.read('az-snp-vtpm/evidence-v2.json');
    const TDX_V1 = EV.read('az-tdx-vtpm/evidence-v1.json');
    const SNP_HCL = EV.read('az-snp-vtpm/hcl-report.bin');
    const TDX_HCL = EV.read('az-tdx-vtpm/hcl-report.bin');
    onlyCloakErrors('HCL (snp)', 11, SNP_HCL, (b) => parseRuntimeClaims(parseHclReport(b).runtimeClaimsBytes));
    onlyCloakErrors('HCL (tdx)', 12, TDX_HCL, (b) => parseRuntimeClaims(parseHclReport(b).runtimeClaimsBytes));
    onlyCloakErrors('runtime claims JSON', 13, parseHclReport(SNP_HCL).runtimeClaimsBytes, parseRuntimeClaims);
    onlyCloakErrors('az-snp-vtpm checks over a mutated HCL', 14, SNP_HCL, hclPipeline('snp', SNP_V2));
    onlyCloakErrors('az-tdx-vtpm checks over a mutated HCL', 15, TDX_HCL, hclPipeline('tdx', TDX_V1));
    onlyCloakErrors('az-snp-vtpm evidence JSON', 16, SNP_V2, jsonPipeline('snp'));
    onlyCloakErrors('az-tdx-vtpm evidence JSON', 17, TDX_V1, jsonPipeline('tdx'));
  },
);
