import { Command } from 'commander';
import { verifyTpmCommand, verifyAzSnpVtpmCommand, verifyAzTdxVtpmCommand } from './verify-tpm.ts';
import { verifyTdxCommand, verifySgxCommand } from './verify-dcap.ts';
import { verifySnpCommand } from './verify-snp.ts';
import { azTdxHardware, azSnpHardware } from '../server/verifiers.ts';

/** `cloak verify <tee> FILE …`: one subcommand per evidence format, each from its own file. */
export function verifyCommand(): Command {
  const verify = new Command('verify').description('Verify TEE evidence offline against the vendors\' chains and collateral');
  for (const make of verifiers) verify.addCommand(make());
  return verify;
}

const verifiers: Array<() => Command> = [verifySnpCommand, verifyTdxCommand, verifySgxCommand, verifyTpmCommand, () => verifyAzSnpVtpmCommand(azSnpHardware), () => verifyAzTdxVtpmCommand(azTdxHardware)];
