import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { CloakError } from '../lib/index.ts';

/** The largest /etc/passwd or /etc/group read from an image (real ones are a few KiB). */
export const MAX_USER_TABLE_BYTES = 1024 * 1024;
/** The largest id Linux accepts ((uid_t)-1 is "no change"). */
const MAX_ID = 2 ** 32 - 2;

export interface ImageUser {
  uid: number;
  gid: number;
}

/**
 * Resolves an image config `User` ("", "name", "uid", "name:group", "uid:gid")
 * against the rootfs's /etc/passwd and /etc/group, as container runtimes do.
 * The tables are read only from regular files inside the rootfs: a symlink
 * anywhere on the way (/etc or the file itself) is refused, so nothing on the
 * host is ever read in their place.
 */
export function resolveUser(rootfs: string, user: string | undefined): ImageUser {
  if (!user) return { uid: 0, gid: 0 };
  const colon = user.indexOf(':');
  const u = colon < 0 ? user : user.slice(0, colon);
  const g = colon < 0 ? undefined : user.slice(colon + 1);
  let uid: number;
  let gid: number | undefined;
  if (isNumeric(u)) {
    uid = toId(u, user);
    const entry = readImageTable(rootfs, 'passwd').find((p) => parseId(p[2]) === uid);
    gid = parseId(entry?.[3]);
  } else {
    const entry = readImageTable(rootfs, 'passwd').find((p) => p[0] === u);
    if (!entry) throw new CloakError('RUNTIME_USER_UNKNOWN', `image user ${clip(u)} is not in the image's /etc/passwd`);
    uid = toId(entry[2], user, 'its /etc/passwd entry');
    gid = toId(entry[3], user, 'its /etc/passwd entry');
  }
  if (g !== undefined) {
    if (isNumeric(g)) gid = toId(g, user);
    else {
      const entry = readImageTable(rootfs, 'group').find((e) => e[0] === g);
      if (!entry)
        throw new CloakError('RUNTIME_USER_UNKNOWN', `image group ${clip(g)} is not in the image's /etc/group`);
      gid = toId(entry[2], user, 'its /etc/group entry');
    }
  }
  return { uid, gid: gid ?? 0 };
}

/**
 * The lines of the image's /etc/<name>, split into fields; [] when the image
 * has none. Refuses (typed error) a symlinked /etc or file, anything but a
 * regular file, and a file over MAX_USER_TABLE_BYTES.
 */
export function readImageTable(rootfs: string, name: 'passwd' | 'group'): string[][] {
  const shown = `/etc/${name}`;
  const etc = lstatOrUndefined(join(rootfs, 'etc'));
  if (!etc) return [];
  if (etc.isSymbolicLink())
    throw unsafe(
      `the image's /etc is a symbolic link: cloak run reads ${shown} only from a regular file inside the image`,
    );
  if (!etc.isDirectory()) throw unsafe(`the image's /etc is not a directory`);
  let fd: number;
  try {
    fd = openSync(
      join(rootfs, 'etc', name),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY,
    );
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ELOOP')
      throw unsafe(
        `the image's ${shown} is a symbolic link: cloak run reads users only from a regular file inside the image (replace the link with the file)`,
      );
    throw unsafe(`the image's ${shown} cannot be read (${code ?? (e as Error).message})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw unsafe(`the image's ${shown} is not a regular file`);
    if (st.size > MAX_USER_TABLE_BYTES)
      throw unsafe(`the image's ${shown} is ${st.size} bytes, more than the ${MAX_USER_TABLE_BYTES} cloak run reads`);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf
      .subarray(0, n)
      .toString('utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } finally {
    closeSync(fd);
  }
}

function unsafe(message: string): CloakError {
  return new CloakError('RUNTIME_USER_TABLE_UNSAFE', message);
}

function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

const isNumeric = (s: string) => /^\d+$/.test(s);

/** A decimal id field, or undefined when it is not one. */
function parseId(field: string | undefined): number | undefined {
  if (field === undefined || !/^\d{1,10}$/.test(field)) return undefined;
  const n = Number(field);
  return n <= MAX_ID ? n : undefined;
}

function toId(field: string | undefined, user: string, where?: string): number {
  const id = parseId(field);
  if (id === undefined)
    throw new CloakError(
      'RUNTIME_USER_UNKNOWN',
      `image user ${clip(user)} does not resolve to numeric ids${where ? ` (${where} has ${clip(field ?? '')})` : ''}`,
    );
  return id;
}

/** A name from the image as it may appear in a message: quoted, escaped, at most 64 characters. */
const clip = (s: string) => JSON.stringify(s.length > 64 ? s.slice(0, 64) + '…' : s);
