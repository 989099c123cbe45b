import { Command } from 'commander';
import { verifyTpmCommand, verifyAzSnpVtpmCommand, verifyAzTdxVtpmCommand } from './verify-tpm.ts';
import { verifyTdxCommand, verifySgxCommand } from './verify-dcap.ts';
import { verifySnpCommand } from './verify-snp.ts';

/** `cloak verify <tee> FILE …`: one subcommand per evidence format, each from its own file. */
export function verifyCommand(): Command {
  const verify = new Command('verify').description(
    "Verify TEE evidence offline against the vendors' chains and collateral",
  );
  for (const make of verifiers) verify.addCommand(make());
  return verify;
}

// The Azure hardware verifiers are the server's, imported only when an az-*-vtpm command runs.
const azSnpHardware = async () => (await import('../server/verifiers.ts')).azSnpHardware;
const azTdxHardware = async () => (await import('../server/verifiers.ts')).azTdxHardware;

const verifiers: Array<() => Command> = [
  verifySnpCommand,
  verifyTdxCommand,
  verifySgxCommand,
  verifyTpmCommand,
  () => verifyAzSnpVtpmCommand(azSnpHardware),
  () => verifyAzTdxVtpmCommand(azTdxHardware),
];
