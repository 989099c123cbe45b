import { constants } from 'node:os';

/** The signals that ask `cloak run` to stop; it cleans up and exits with 128+signo. */
export const INTERRUPT_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

const cleanups: Array<() => void> = [];
const deferrals = new Set<(signal: NodeJS.Signals) => void>();
let received: NodeJS.Signals | undefined;

/**
 * Registers a synchronous cleanup that runs (most recent first) when TERM,
 * INT or HUP ends the process, before it exits with 128+signo. While any is
 * registered this module handles those signals. Returns the function that
 * unregisters it.
 */
export function cleanupOnInterrupt(fn: () => void): () => void {
  if (cleanups.length === 0) for (const s of INTERRUPT_SIGNALS) process.on(s, onSignal);
  cleanups.push(fn);
  return () => {
    const i = cleanups.lastIndexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
    if (cleanups.length === 0) {
      for (const s of INTERRUPT_SIGNALS) process.off(s, onSignal);
      received = undefined;
    }
  };
}

/**
 * While registered, the first signal is handed to `fn` (which passes it to
 * the container and gives it time to stop) instead of ending the process;
 * a second signal ends it at once. Returns the function that unregisters it.
 */
export function deferInterrupt(fn: (signal: NodeJS.Signals) => void): () => void {
  deferrals.add(fn);
  return () => {
    deferrals.delete(fn);
  };
}

/** The signal that asked this process to stop, if one did while a deferral held it. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return received;
}

/** Runs every registered cleanup and exits with 128+signo. */
export function exitInterrupted(signal: NodeJS.Signals): never {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      fn();
    } catch {
      /* the other cleanups still run */
    }
  }
  process.exit(128 + constants.signals[signal]);
}

function onSignal(signal: NodeJS.Signals): void {
  if (deferrals.size && !received) {
    received = signal;
    for (const fn of deferrals) fn(signal);
    return;
  }
  exitInterrupted(signal);
}
