import { isCloakError } from '../lib/errors.ts';

/** Exit codes: 0 ok, 1 failure, 2 usage. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * When the reader of stdout or stderr goes away early (`cloak … | head`), the
 * rest of that output is dropped and the command finishes as it would, with
 * its own exit status (0 for --help), instead of crashing on EPIPE; cleanup
 * such as `cloak run`'s still happens. Any other write error stays fatal.
 */
export function dropOutputToClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
}

/** Data goes to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Human messages go to stderr. */
export function say(message: string): void {
  process.stderr.write(message + '\n');
}

/** Prints an error a person can act on and returns the exit code for it. */
export function reportError(e: unknown, json = false): number {
  if (isCloakError(e)) {
    if (json) printJson({ ok: false, code: e.code, message: e.message });
    say(`error ${e.code}: ${e.message}`);
    return e.code.startsWith('USAGE') ? EXIT_USAGE : EXIT_FAILURE;
  }
  say(`error: ${e instanceof Error ? e.message : String(e)}`);
  return EXIT_FAILURE;
}

/**
 * Wraps a command action: runs it, maps errors to exit codes. Actions return
 * nothing (exit 0) or an exit code.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (e) {
      const opts = args.find((a) => a && typeof a === 'object' && 'json' in (a as object)) as
        { json?: boolean } | undefined;
      process.exitCode = reportError(e, opts?.json === true);
    }
  };
}
