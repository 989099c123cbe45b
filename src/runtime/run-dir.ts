import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { CloakError } from '../lib/index.ts';
import { deleteContainer } from './runc.ts';

/**
 * Where `cloak run` keeps everything it decrypts: one private directory per
 * run on memory-backed storage, so a run killed with SIGKILL leaves no
 * plaintext on disk, and the next run can tell its leftovers from live runs.
 *
 *   /dev/shm/cloak-runs/                     root 0711 (no one else lists it)
 *     <pid>-<start>-<random>/                root:<container root's group> 0710
 *       container                            root 0600, the runc container id
 *       config.json                          root 0600, holds --secret-env values
 *       rootfs/                              owned by the run's host id range
 *       secrets/                             the workload's uid 0500, files 0400
 *
 * The directory name carries the owning process's pid and start time, so a
 * run is dead exactly when no process with that pid and start time exists.
 */
export const DEFAULT_RUN_ROOT = '/dev/shm/cloak-runs';

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
const RUN_NAME = /^(\d+)-(\d+)-[A-Za-z0-9]{6}$/;

export interface RunDir {
  path: string;
  rootfs: string;
  secrets: string;
  /** Records the container id, so a later run can stop the container if this process is killed. */
  setContainer(id: string): void;
  /** Removes the run directory (idempotent, synchronous: safe in a signal handler). */
  remove(): void;
}

/** Creates this run's private directory; its group is `group` (the container's root), which may only traverse it. */
export function createRunDir(group: number, runRoot = DEFAULT_RUN_ROOT): RunDir {
  ensureRunRoot(runRoot);
  const path = mkdtempSync(join(runRoot, `${process.pid}-${processStartTime(process.pid)}-`));
  chmodSync(path, 0o700);
  const dir: RunDir = {
    path,
    rootfs: join(path, 'rootfs'),
    secrets: join(path, 'secrets'),
    setContainer: (id) => writeFileSync(join(path, 'container'), id, { mode: 0o600 }),
    remove: () => removeTree(path),
  };
  try {
    chownSync(path, 0, group);
    chmodSync(path, 0o710);
  } catch (e) {
    dir.remove();
    throw e;
  }
  return dir;
}

/**
 * Removes the directories of runs whose process is gone (killed before it
 * could clean up), stopping their containers first; never one whose process
 * still runs. Returns what it removed, one sentence each.
 */
export function sweepDeadRuns(runRoot = DEFAULT_RUN_ROOT): string[] {
  let names: string[];
  try {
    names = readdirSync(runRoot);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = RUN_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (processStartTime(pid) === m[2]) continue;
    const path = join(runRoot, name);
    let container: string | undefined;
    try {
      container = readFileSync(join(path, 'container'), 'utf8');
    } catch {
      /* killed before its container started */
    }
    if (container) deleteContainer(container);
    removeTree(path);
    removed.push(
      `removed ${path}, left by a cloak run (pid ${pid}) that was killed${container ? `, and stopped its container ${container}` : ''}`,
    );
  }
  return removed;
}

/** The start time of a process (clock ticks since boot, /proc/PID/stat field 22), or undefined when there is none. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function ensureRunRoot(runRoot: string): void {
  mkdirSync(runRoot, { recursive: true, mode: 0o711 });
  const st = lstatSync(runRoot);
  if (!st.isDirectory() || st.uid !== 0) {
    throw new CloakError(
      'RUNTIME_RUN_ROOT_UNSAFE',
      `${runRoot} is not a directory owned by root (another user may have created it): remove it and run again`,
    );
  }
  if ((st.mode & 0o7777) !== 0o711) chmodSync(runRoot, 0o711);
  const { type } = statfsSync(runRoot);
  if (type !== TMPFS_MAGIC && type !== RAMFS_MAGIC) {
    throw new CloakError(
      'RUNTIME_RUN_ROOT_NOT_MEMORY',
      `${runRoot} is not on tmpfs: cloak run keeps decrypted images and secrets only in memory`,
    );
  }
}

/** rm -rf that survives a write still in flight from an interrupted unpack. */
function removeTree(path: string): void {
  rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 10 });
}
