import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloakError } from '../lib/index.ts';

/**
 * Resolves an image config `User` ("", "name", "uid", "name:group", "uid:gid")
 * against the rootfs's /etc/passwd and /etc/group, as container runtimes do.
 */
export function resolveUser(rootfs: string, user: string | undefined): { uid: number; gid: number; additionalGids?: number[] } {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':', 2) as [string, string | undefined];
  const passwd = readTable(rootfs, 'etc/passwd');
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const entry = passwd.find((p) => Number(p[2]) === uid);
    gid = entry?.[3] !== undefined ? Number(entry[3]) : undefined;
  } else {
    const entry = passwd.find((p) => p[0] === u);
    if (!entry) throw new CloakError('RUNTIME_USER_UNKNOWN', `image user "${u}" is not in the image's /etc/passwd`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const entry = readTable(rootfs, 'etc/group').find((e) => e[0] === g);
      if (!entry) throw new CloakError('RUNTIME_USER_UNKNOWN', `image group "${g}" is not in the image's /etc/group`);
      gid = Number(entry[2]);
    }
  }
  if (!Number.isInteger(uid) || uid < 0 || !Number.isInteger(gid ?? 0) || (gid ?? 0) < 0) throw new CloakError('RUNTIME_USER_UNKNOWN', `image user "${user}" does not resolve to numeric ids`);
  return { uid, gid: gid ?? 0 };
}

function readTable(rootfs: string, rel: string): string[][] {
  let text: string;
  try { text = readFileSync(join(rootfs, rel), 'utf8'); } catch { return []; }
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
}
