import { Command, CommanderError } from 'commander';
import { commands } from './commands.ts';
import { EXIT_USAGE } from './output.ts';

export function buildProgram(): Command {
  const program = new Command('cloak')
    .description('Run unmodified container images confidentially in TEEs')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  for (const make of commands) program.addCommand(make());
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    throw e;
  }
}

await main();
