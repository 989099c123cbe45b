import { Command, CommanderError } from 'commander';
// Start-up rule: command files import only commander, node: modules and light
// local code (../lib/errors.ts, ../lib/bytes.ts, ./output.ts) at the top, and
// load the heavy layers (server, attest, oci, kbs, …) with `await import()`
// inside their actions, so `cloak --version` or `--help` stays fast.
import { commands } from './commands.ts';
import { EXIT_USAGE, dropOutputToClosedPipes } from './output.ts';

export function buildProgram(): Command {
  const program = new Command('cloak')
    .description('Run unmodified container images confidentially in TEEs')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  for (const make of commands) program.addCommand(make());
  configureAll(program);
  return program;
}

/** Usage errors exit 2 everywhere, not only at the top level. */
function configureAll(cmd: Command): void {
  for (const sub of cmd.commands) {
    sub.exitOverride().showHelpAfterError();
    configureAll(sub);
  }
}

async function main(): Promise<void> {
  dropOutputToClosedPipes();
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
