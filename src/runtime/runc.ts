import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import { CloakError } from '../lib/index.ts';

export const RUNC = process.env.CLOAK_RUNC ?? 'runc';

/** Checks that runc is there and we may use it (root). */
export function checkRunc(): void {
  const r = spawnSync(RUNC, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new CloakError('RUNTIME_NO_RUNC', `runc is not available (${RUNC}): install it (apt-get install runc)`);
  if (process.getuid?.() !== 0)
    throw new CloakError('RUNTIME_NOT_ROOT', 'cloak run drives runc as root: run it with sudo');
}

/**
 * Runs the bundle with `runc run`, stdio inherited (or piped); resolves with
 * the container's exit code. config.json is written readable by root only
 * (it may hold secret variables). The container is deleted afterwards
 * whatever happened. Signals are the caller's business (see interrupt.ts).
 */
export function runBundle(
  bundle: string,
  spec: Record<string, unknown>,
  opts: { id: string; stdio?: 'inherit' | 'pipe'; onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void },
): Promise<number> {
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2), { mode: 0o600 });
  return new Promise((resolve, reject) => {
    const child = spawn(RUNC, ['run', '--bundle', bundle, opts.id], {
      stdio: ['inherit', opts.stdio ?? 'inherit', opts.stdio ?? 'inherit'],
    });
    if (opts.stdio === 'pipe') {
      child.stdout!.on('data', (c: Buffer) => opts.onOutput?.(c, 'stdout'));
      child.stderr!.on('data', (c: Buffer) => opts.onOutput?.(c, 'stderr'));
    }
    child.on('error', (e) => {
      deleteContainer(opts.id);
      reject(new CloakError('RUNTIME_RUNC_FAILED', `runc did not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      deleteContainer(opts.id);
      resolve(code ?? (signal ? 128 + constants.signals[signal] : 1));
    });
  });
}

/** Sends a signal to the container's init process. */
export function killContainer(id: string, signal: NodeJS.Signals): void {
  spawnSync(RUNC, ['kill', id, signal], { stdio: 'ignore' });
}

/** Stops and deletes the container, if there is one (synchronous: safe in a signal handler). */
export function deleteContainer(id: string): void {
  spawnSync(RUNC, ['delete', '--force', id], { stdio: 'ignore' });
}
