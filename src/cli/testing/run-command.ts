import { Command } from 'commander';

/** Runs one `cloak verify` subcommand in process, capturing stdout, stderr and the exit code. */
export async function runVerifySubcommand(
  cmd: Command,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  // Let the test runner write what it has queued (the last test's report) before stdout is captured:
  // the commands import their verifiers with `await import()`, which gives it a turn mid-command.
  await new Promise((resolve) => setImmediate(resolve));
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => {
    out.push(String(s));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => {
    err.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await new Command('verify')
      .exitOverride()
      .addCommand(cmd)
      .parseAsync(['node', 'cloak', cmd.name(), ...args]);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, out: out.join(''), err: err.join('') };
}
