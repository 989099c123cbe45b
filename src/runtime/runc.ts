import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloakError } from '../lib/index.ts';

export const RUNC = process.env.CLOAK_RUNC ?? 'runc';

/** Checks that runc is there and we may use it (root). */
export function checkRunc(): void {
  const r = spawnSync(RUNC, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new CloakError('RUNTIME_NO_RUNC', `runc is not available (${RUNC}): install it (apt-get install runc)`);
  if (process.getuid?.() !== 0) throw new CloakError('RUNTIME_NOT_ROOT', 'cloak run drives runc as root: run it with sudo');
}

/**
 * Runs the bundle with `runc run`, stdio inherited (or piped), signals
 * forwarded to the container; resolves with the container's exit code.
 * The container is deleted afterwards whatever happened.
 */
export function runBundle(bundle: string, spec: Record<string, unknown>, opts: { id: string; stdio?: 'inherit' | 'pipe'; onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void }): Promise<number> {
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
  return new Promise((resolve, reject) => {
    const child = spawn(RUNC, ['run', '--bundle', bundle, opts.id], { stdio: ['inherit', opts.stdio ?? 'inherit', opts.stdio ?? 'inherit'] });
    if (opts.stdio === 'pipe') {
      child.stdout!.on('data', (c: Buffer) => opts.onOutput?.(c, 'stdout'));
      child.stderr!.on('data', (c: Buffer) => opts.onOutput?.(c, 'stderr'));
    }
    const forward = (signal: NodeJS.Signals) => { spawnSync(RUNC, ['kill', opts.id, signal]); };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of signals) process.on(s, forward);
    const cleanup = () => {
      for (const s of signals) process.off(s, forward);
      spawnSync(RUNC, ['delete', '--force', opts.id]);
    };
    child.on('error', (e) => { cleanup(); reject(new CloakError('RUNTIME_RUNC_FAILED', `runc did not start: ${e.message}`)); });
    child.on('close', (code, signal) => {
      cleanup();
      resolve(code ?? (signal ? 128 + (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[signal] ?? 1) : 1));
    });
  });
}
