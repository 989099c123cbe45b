import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CloakError, type ErrorCode } from '../lib/errors.ts';
import { constantTimeEqual, fromHex, padTo, toHex } from '../lib/bytes.ts';
import type { EvidenceVerifier, VerifiedEvidence, VerifyContext } from '../attest/index.ts';
import type { HardwareVerifier, SnpHardwareInput, TdxHardwareInput } from '../attest/azure/index.ts';
import { action, printJson, say } from './output.ts';
import { appraiseVerified, readInputFile, verifiedJson, verifyContext } from './verify-input.ts';

interface VerifyOpts {
  collateral?: string;
  at?: string;
  nonce?: string;
  json?: boolean;
  trustedAk?: string[];
}

/** --collateral DIR is read as `cloak serve --collateral DIR` reads it (AMD KDS and Intel PCS layouts). */
const context = (o: VerifyOpts, trust?: VerifyContext['trust']): Promise<VerifyContext> => verifyContext(o, trust);

/** --nonce: the quote's nonce must be exactly these bytes (tpm: zero-padded to `padSize`, 64, as CoCo's TPM attester sends it). */
function checkNonce(v: VerifiedEvidence, nonceHex: string | undefined, code: ErrorCode, padSize?: number): void {
  if (nonceHex === undefined) return;
  let want = fromHex(nonceHex, 'USAGE_NONCE', '--nonce');
  if (padSize !== undefined) {
    if (want.length > padSize) throw new CloakError('USAGE_NONCE', '--nonce is at most 64 bytes');
    want = padTo(want, padSize);
  }
  if (!constantTimeEqual(v.reportData, want))
    throw new CloakError(code, `the quote's nonce is ${toHex(v.reportData)}, not the expected ${toHex(want)}`);
}

function show(v: VerifiedEvidence, o: VerifyOpts): void {
  if (o.json) printJson(verifiedJson(v));
  say(
    `${v.tee} evidence verified; quote nonce ${toHex(v.reportData)}${v.initData ? `, PCR 8 ${toHex(v.initData)}` : ''}`,
  );
}

function base(name: string, what: string, example: string): Command {
  return new Command(name)
    .description(`Verify ${what}`)
    .argument('<file>', 'evidence JSON (CoCo attester shape)')
    .option(
      '--collateral <path>',
      'offline vendor collateral, read as `cloak serve --collateral` reads it (a directory of AMD KDS / Intel PCS responses, or a collateral JSON file)',
    )
    .option('--at <time>', 'verify as of this RFC 3339 time instead of now')
    .option('--nonce <hex>', 'the nonce the quote must carry (the report-data / KBS binding)')
    .option('--json', 'print the verified claims as JSON')
    .addHelpText('after', `\nExample:\n  ${example}`);
}

/** `cloak verify tpm FILE`: a TPM 2.0 quote whose AK an operator enrolled (--trusted-ak, as trustee's trusted_ak_keys). */
export function verifyTpmCommand(): Command {
  return base(
    'tpm',
    'CoCo `tpm` evidence: a TPM 2.0 quote by an enrolled attestation key',
    'cloak verify tpm evidence.json --trusted-ak ak.pem --nonce 00ab…',
  )
    .option('--trusted-ak <pem...>', 'PEM public key(s) of trusted AKs (repeatable)')
    .action(
      action(async (file: string, o: VerifyOpts) => {
        const { makeTpmVerifier, TPM_REPORT_DATA_SIZE } = await import('../attest/tpm/index.ts');
        const trustedAks = (o.trustedAk ?? []).map((p) => readFileSync(p, 'utf8'));
        const v = await makeTpmVerifier().verify(readInputFile(file), await context(o, { tpm: { trustedAks } }));
        checkNonce(v, o.nonce, 'TPM_NONCE_MISMATCH', TPM_REPORT_DATA_SIZE);
        show(v, o);
      }),
    );
}

/** `make` and `loadHardware` import their modules when the command runs, so defining the command loads nothing heavy. */
function azCommand<I>(
  kind: 'snp' | 'tdx',
  make: (h: HardwareVerifier<I>) => Promise<EvidenceVerifier>,
  loadHardware: (() => Promise<HardwareVerifier<I>>) | undefined,
): Command {
  const chip = kind === 'snp' ? 'SEV-SNP' : 'TDX';
  return base(
    `az-${kind}-vtpm`,
    `Azure confidential VM (${chip}) vTPM evidence: HCL report, runtime claims, vTPM quote, ${chip} report`,
    `cloak verify az-${kind}-vtpm evidence.json --at 2025-02-01T00:00:00Z --json`,
  ).action(
    action(async (file: string, o: VerifyOpts) => {
      const ctx = await context(o);
      if (!loadHardware) {
        // Without the hardware verifier everything else still runs, but the evidence is not accepted.
        const { checkAzVtpm, parseAzSnpEvidence, parseAzTdxEvidence } = await import('../attest/azure/index.ts');
        const { evidenceAsJson } = await import('../attest/tpm/index.ts');
        const json = evidenceAsJson(readInputFile(file), 'AZ_EVIDENCE_MALFORMED');
        const c = checkAzVtpm(kind, kind === 'snp' ? parseAzSnpEvidence(json) : parseAzTdxEvidence(json));
        throw new CloakError(
          'AZ_HARDWARE_NOT_VERIFIED',
          `the vTPM half of v${c.evidence.version} evidence verified (HCL, runtime claims, AK, quote nonce ${toHex(c.quote.extraData)}, PCRs), but this build has no ${chip} verifier to check the hardware report's signature`,
        );
      }
      const verifier = await make(await loadHardware());
      const v = await verifier.verify(readInputFile(file), ctx);
      await appraiseVerified(v);
      checkNonce(v, o.nonce, 'AZ_NONCE_MISMATCH');
      show(v, o);
    }),
  );
}

/** `cloak verify az-snp-vtpm FILE`; `loadHardware` gives the SEV-SNP report verifier (raw report + VCEK). */
export function verifyAzSnpVtpmCommand(loadHardware?: () => Promise<HardwareVerifier<SnpHardwareInput>>): Command {
  return azCommand(
    'snp',
    async (h) => (await import('../attest/azure/index.ts')).makeAzSnpVtpmVerifier(h),
    loadHardware,
  );
}

/** `cloak verify az-tdx-vtpm FILE`; `loadHardware` gives the TDX quote verifier. */
export function verifyAzTdxVtpmCommand(loadHardware?: () => Promise<HardwareVerifier<TdxHardwareInput>>): Command {
  return azCommand(
    'tdx',
    async (h) => (await import('../attest/azure/index.ts')).makeAzTdxVtpmVerifier(h),
    loadHardware,
  );
}
