import { createServer, type Server } from 'node:net';
import { CloakError } from '../lib/index.ts';

/**
 * Host ids for the container's user namespace. Each run maps container ids
 * 0–65535 onto its own range of host ids, 2^31 + slot·65536 (slot 0–1023),
 * so no container id is a host user's id and two runs never share one.
 */
export const ID_RANGE_BASE = 2 ** 31;
export const ID_RANGE_SIZE = 65536;
export const ID_RANGE_SLOTS = 1024;
/** Where files owned by an id the range cannot hold end up: the container's "nobody". */
const OVERFLOW_ID = 65534;

export interface IdRange {
  /** The host id container id 0 maps to. */
  hostId: number;
  size: number;
  release(): void;
}

/**
 * Claims a free slot for this run. The claim is an abstract unix socket
 * bound for as long as the run lives: binding is atomic and the kernel frees
 * it when the process dies, however it dies, so a killed run never holds a
 * slot (its orphaned container is stopped by the next run's sweep).
 */
export async function claimIdRange(): Promise<IdRange> {
  const start = Math.floor(Math.random() * ID_RANGE_SLOTS);
  for (let i = 0; i < ID_RANGE_SLOTS; i++) {
    const slot = (start + i) % ID_RANGE_SLOTS;
    const server = await bindAbstract(`cloak-run-ids-${slot}`);
    if (server)
      return {
        hostId: ID_RANGE_BASE + slot * ID_RANGE_SIZE,
        size: ID_RANGE_SIZE,
        release: () => {
          server.close();
        },
      };
  }
  throw new CloakError(
    'RUNTIME_NO_ID_RANGE',
    `all ${ID_RANGE_SLOTS} host id ranges of cloak run are in use: wait for other runs to end`,
  );
}

function bindAbstract(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EADDRINUSE'
        ? resolve(undefined)
        : reject(new CloakError('RUNTIME_NO_ID_RANGE', `cannot claim a host id range: ${e.message}`)),
    );
    server.listen({ path: `\0${name}` }, () => {
      server.unref();
      resolve(server);
    });
  });
}

/**
 * The host id that owns what the image gives container id `id`: hostId + id;
 * ids the range cannot hold become the container's nobody. `cloak run`
 * unpacks with it, so every entry is created with its mapped owner.
 */
export function hostIds(range: Pick<IdRange, 'hostId' | 'size'>): (id: number) => number {
  return (id) => range.hostId + (id < range.size ? id : OVERFLOW_ID);
}

/** Refuses an image user the container's user namespace cannot hold. */
export function checkMappable(user: { uid: number; gid: number }, range: Pick<IdRange, 'size'>): void {
  if (user.uid >= range.size || user.gid >= range.size) {
    throw new CloakError(
      'RUNTIME_USER_UNMAPPED',
      `the image user resolves to uid ${user.uid}, gid ${user.gid}; cloak run maps container ids 0–${range.size - 1} only: use a smaller id in the image's User`,
    );
  }
}
