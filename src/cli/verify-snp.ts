import { Command } from 'commander';
import type { SnpPolicy, SnpTrust } from '../attest/snp/index.ts';
import { action, printJson, say } from './output.ts';
import { appraiseVerified, readInputFile, verifiedJson, verifyContext } from './verify-input.ts';

interface VerifySnpOpts {
  vek?: string;
  collateral?: string;
  at?: string;
  reportData?: string;
  hostData?: string;
  allowDebug?: boolean;
  measurement?: string[];
  json?: boolean;
}

const HELP = `
FILE is a raw SEV-SNP attestation report (1184 bytes) or CoCo's evidence JSON
({"attestation_report": …, "cert_chain": …}). The VCEK/VLEK comes from --vek,
else the evidence's cert_chain, else --collateral (an offline mirror of AMD KDS:
DIR/kdsintf.amd.com/vcek/v1/Milan/<hwid>, DIR/vcek/v1/Milan/crl, …). The AMD
roots (Milan, Genoa, Turin) are built in. The verified claims are then
appraised as \`cloak serve\` appraises them (its default attestation policy): a
guest launched with debugging allowed is refused unless --allow-debug.

Examples:
  cloak verify snp attestation.bin --vek vcek.der --at 2026-01-01T00:00:00Z --allow-debug
  cloak verify snp snp-evidence.json --report-data 7e7320… --host-data 00… --json`;

/** `cloak verify snp FILE`: verifies SEV-SNP evidence against AMD's pinned roots. */
export function verifySnpCommand(): Command {
  return new Command('snp')
    .description('Verify AMD SEV-SNP evidence: report signature, VCEK/VLEK chain to AMD, TCB, CRL and policy')
    .argument('<file>', 'raw SEV-SNP report or CoCo SNP evidence JSON')
    .option('--vek <file>', 'the VCEK or VLEK certificate (DER or PEM)')
    .option(
      '--collateral <path>',
      'offline vendor collateral, read as `cloak serve --collateral` reads it (an AMD KDS mirror: VCEKs, CRLs)',
    )
    .option('--at <time>', 'verify as of this RFC 3339 time instead of now')
    .option('--report-data <hex>', 'expected report-data (zero-padded to 64 bytes)')
    .option('--host-data <hex>', 'expected host-data / init-data digest (zero-padded to 32 bytes)')
    .option('--measurement <hex...>', 'allowed launch measurements (repeatable)')
    .option('--allow-debug', 'accept guests launched with debugging allowed')
    .option('--json', 'print the verified claims as JSON')
    .addHelpText('after', HELP)
    .action(
      action(async (file: string, o: VerifySnpOpts) => {
        const policy: SnpPolicy = { reportData: o.reportData, hostData: o.hostData, measurements: o.measurement };
        const snp: SnpTrust = { policy, vek: o.vek ? readInputFile(o.vek, '--vek ') : undefined };
        const { snpVerifier } = await import('../attest/snp/index.ts');
        const v = await snpVerifier.verify(readInputFile(file), await verifyContext(o, { snp }));
        await appraiseVerified(v, { allowDebug: o.allowDebug === true });
        if (o.json) printJson(verifiedJson(v));
        say(
          `snp evidence verified: ${String(v.claims.product)} chip, ${String(v.claims.vek)} chain to AMD's root, measurement ${String(v.claims.measurement)}`,
        );
      }),
    );
}
