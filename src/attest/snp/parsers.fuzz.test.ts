import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCloakError } from '../../lib/index.ts';
import { parseReport, parseSnpEvidence, parseVek, reportFromJson, snpVerifier } from './index.ts';
import { FUZZ_ITERATIONS, mutator } from '../../lib/testing/mutator.ts';
import { testdata } from '../../lib/testing/testdata.ts';

const { dir: EV, skip } = testdata('evidence');
// Without the captures these stay empty and both tests are skipped.
const MILAN = skip ? Buffer.alloc(0) : readFileSync(join(EV, 'snp/attestation.bin'));
const VCEK = skip ? Buffer.alloc(0) : readFileSync(join(EV, 'snp/vcek.der'));
const COCO_TEXT = skip ? '{}' : readFileSync(join(EV, 'coco/snp-evidence.json'), 'utf8');
const GENOA = skip ? Buffer.alloc(0) : reportFromJson(JSON.parse(COCO_TEXT).attestation_report);
const AT = new Date('2026-01-01T00:00:00Z');

/** Runs fn; anything but a CloakError fails the test. Returns true when fn accepted. */
async function onlyCloakErrors(fn: () => unknown, what: string): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    if (!isCloakError(e)) assert.fail(`${what}: untyped ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return false;
  }
}

test(
  `fuzz: ${FUZZ_ITERATIONS} mutations of the real reports: only CloakError, none accepted by the verifier`,
  { skip },
  async () => {
    const { mutate, rand } = mutator(0x5e5, 1400);
    for (let i = 0; i < FUZZ_ITERATIONS; i++) {
      const [orig, ctx] =
        rand(2) === 0
          ? [MILAN, { now: AT, trust: { snp: { vek: VCEK } } }]
          : [GENOA, { now: AT, trust: { snp: { vek: Buffer.from(JSON.parse(COCO_TEXT).cert_chain[0].data) } } }];
      const m = mutate(orig);
      await onlyCloakErrors(() => parseReport(m), `parseReport #${i}`);
      const accepted = await onlyCloakErrors(() => snpVerifier.verify(m, ctx), `verify #${i}`);
      if (accepted) assert.ok(m.equals(orig), `mutation #${i} was accepted`);
    }
  },
);

test(
  `fuzz: ${FUZZ_ITERATIONS} mutations of the CoCo evidence JSON and of the VCEK: only CloakError`,
  { skip },
  async () => {
    const { mutate, rand } = mutator(0xc0c0, 1400);
    const doc = JSON.parse(COCO_TEXT) as Record<string, Record<string, unknown>>;
    const keys = Object.keys(doc.attestation_report!);
    const odd: unknown[] = [null, -1, 1.5, 2 ** 64, 'x', [], {}, [256], true, Array(64).fill(0)];
    for (let i = 0; i < FUZZ_ITERATIONS; i++) {
      const text = mutate(Buffer.from(COCO_TEXT));
      await onlyCloakErrors(() => parseSnpEvidence(text), `evidence text #${i}`);
      const structural = {
        ...doc,
        attestation_report: { ...doc.attestation_report, [keys[rand(keys.length)]!]: odd[rand(odd.length)] },
      };
      await onlyCloakErrors(() => parseSnpEvidence(structural), `evidence field #${i}`);
      if (rand(2) === 0) await onlyCloakErrors(() => parseSnpEvidence(odd[rand(odd.length)]), `evidence value #${i}`);
      await onlyCloakErrors(() => parseVek(mutate(VCEK)), `parseVek #${i}`);
    }
  },
);
