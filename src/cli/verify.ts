import { Command } from 'commander';
import { verifyTpmCommand, verifyAzSnpVtpmCommand, verifyAzTdxVtpmCommand } from './verify-tpm.ts';

/** `cloak verify <tee> FILE …`: one subcommand per evidence format, each from its own file. */
export function verifyCommand(): Command {
  const verify = new Command('verify').description('Verify TEE evidence offline against the vendors\' chains and collateral');
  for (const make of verifiers) verify.addCommand(make());
  return verify;
}

const verifiers: Array<() => Command> = [verifyTpmCommand, () => verifyAzSnpVtpmCommand(), () => verifyAzTdxVtpmCommand()];
