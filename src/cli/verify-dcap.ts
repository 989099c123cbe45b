import { Command } from 'commander';
import { CloakError } from '../lib/errors.ts';
import { fromHex, padTo } from '../lib/bytes.ts';
import type { EvidenceVerifier } from '../attest/index.ts';
import type { TcbStatus } from '../attest/dcap/index.ts';
import { action, printJson, say } from './output.ts';
import { appraiseVerified, readInputFile, verifyContext, type AppraisalFlags } from './verify-input.ts';

interface VerifyDcapOptions {
  collateral?: string;
  at?: string;
  reportData?: string;
  acceptTcb?: string;
  allowDebug?: boolean;
  json?: boolean;
}

function readEvidence(file: string): unknown {
  const bytes = readInputFile(file);
  if (bytes[0] === 0x7b) {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new CloakError('USAGE_EVIDENCE', `${file} starts with "{" but is not valid JSON`);
    }
  }
  return bytes;
}

/** `--accept-tcb` and `--allow-debug`: what the default attestation policy admits. */
async function appraisalFlags(o: VerifyDcapOptions): Promise<AppraisalFlags> {
  const { TCB_STATUSES } = await import('../attest/dcap/index.ts');
  const flags: AppraisalFlags = { allowDebug: o.allowDebug === true };
  if (o.acceptTcb) {
    const statuses = o.acceptTcb.split(',').map((s) => s.trim());
    const bad = statuses.find((s) => !TCB_STATUSES.includes(s as TcbStatus));
    if (bad)
      throw new CloakError('USAGE_TCB_STATUS', `--accept-tcb: "${bad}" is not one of ${TCB_STATUSES.join(', ')}`);
    flags.acceptedTcbStatuses = statuses;
  }
  return flags;
}

/** `loadVerifier` imports the verifier when the command runs, so defining the command loads nothing heavy. */
function verifyCommand(name: 'tdx' | 'sgx', loadVerifier: () => Promise<EvidenceVerifier>, example: string): Command {
  return new Command(name)
    .description(
      `Verify an Intel ${name.toUpperCase()} DCAP quote (signatures, PCK chain to the Intel SGX Root CA, CRLs, TCB status from Intel's collateral)`,
    )
    .argument(
      '<file>',
      `the quote: raw bytes, or CoCo evidence JSON {"quote": "<base64>"${name === 'tdx' ? ', "cc_eventlog": …' : ''}}`,
    )
    .option(
      '--collateral <path>',
      'Intel collateral, read as `cloak serve --collateral` reads it: a JSON file (dcap-qvl form), or an offline directory of PCS v4 responses, one file per URL named like api.trustedservices.intel.com_tdx_certification_v4_tcb_fmspc_B0C06F000000 (issuer chains: …_TCB-Info-Issuer-Chain)',
    )
    .option('--at <time>', 'verify as of this RFC 3339 time (default: now)')
    .option('--report-data <hex>', 'require this report data (zero-padded to 64 bytes)')
    .option('--accept-tcb <statuses>', 'comma-separated TCB statuses to accept (default UpToDate,SWHardeningNeeded)')
    .option('--allow-debug', `accept a debug ${name === 'tdx' ? 'TD' : 'enclave'} (never in production)`)
    .option('--json', 'print the claims as JSON')
    .addHelpText('after', `\nExample:\n  ${example}\n`)
    .action(
      action(async (file: string, o: VerifyDcapOptions) => {
        const flags = await appraisalFlags(o);
        const verifier = await loadVerifier();
        const result = await verifier.verify(readEvidence(file), await verifyContext(o, {}));
        await appraiseVerified(result, flags);
        if (o.reportData !== undefined) {
          const want = fromHex(o.reportData, 'USAGE_REPORT_DATA', '--report-data');
          if (want.length > 64) throw new CloakError('USAGE_REPORT_DATA', '--report-data is longer than 64 bytes');
          if (!padTo(want, 64).equals(result.reportData))
            throw new CloakError(
              name === 'tdx' ? 'TDX_REPORT_DATA_MISMATCH' : 'SGX_REPORT_DATA_MISMATCH',
              `the quote's report data is ${result.reportData.toString('hex')}, not the expected value: the quote was made for another challenge`,
            );
        }
        if (o.json) printJson({ ok: true, tee: result.tee, claims: result.claims });
        else {
          for (const [k, v] of Object.entries(result.claims))
            say(`${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
          say(`ok: genuine Intel ${name.toUpperCase()} quote, TCB status ${String(result.claims.tcb_status)}`);
        }
      }),
    );
}

export function verifyTdxCommand(): Command {
  return verifyCommand(
    'tdx',
    async () => (await import('../attest/tdx/index.ts')).tdxVerifier,
    'cloak verify tdx quote.dat --collateral collateral.json --at 2025-07-01T00:00:00Z --json',
  );
}

export function verifySgxCommand(): Command {
  return verifyCommand(
    'sgx',
    async () => (await import('../attest/sgx/index.ts')).sgxVerifier,
    'cloak verify sgx quote.dat --collateral collateral.json --accept-tcb UpToDate,SWHardeningNeeded,ConfigurationAndSWHardeningNeeded',
  );
}
