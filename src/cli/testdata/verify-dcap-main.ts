// Test entry: `cloak verify tdx|sgx …` without the rest of the CLI.
import { Command } from 'commander';
import { verifySgxCommand, verifyTdxCommand } from '../verify-dcap.ts';

const program = new Command('cloak');
program.command('verify').addCommand(verifyTdxCommand()).addCommand(verifySgxCommand());
await program.parseAsync(process.argv);
