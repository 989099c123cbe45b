import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { CloakError } from '../../lib/index.ts';
import { entryComponents } from '../../oci/index.ts';

/** An image's /etc/passwd and /etc/group (for user names and the groups containerd adds). */
export interface ImageUsers {
  passwd?: string;
  group?: string;
}

const FILES = { 'etc/passwd': 'passwd', 'etc/group': 'group' } as const;
const MAX_FILE = 1 << 20;

/**
 * Reads /etc/passwd and /etc/group out of an image's layers, applied in
 * order (whiteouts and opaque directories included). Undefined when a layer
 * cannot be read here (encrypted, zstd): then the pod must name its user.
 */
export async function readImageUsers(
  layers: Array<{ mediaType: string; open: () => Promise<Readable> }>,
): Promise<ImageUsers | undefined> {
  const users: ImageUsers = {};
  for (const layer of layers) {
    const gzip = /(\+|\.)gzip$/.test(layer.mediaType);
    if (!gzip && !/\.tar$|tar$/.test(layer.mediaType)) return undefined;
    const extract = tar.extract();
    // A bad entry fails the read once the layer has been drained (no stream is left half-read).
    let failure: Error | undefined;
    const skip = (stream: { on(e: string, f: () => void): unknown; resume(): unknown }, next: (e?: Error) => void) => {
      stream.on('end', () => next());
      stream.resume();
    };
    extract.on('entry', (header, stream, next) => {
      if (failure) {
        skip(stream, next);
        return;
      }
      let parts: string[];
      try {
        parts = entryComponents(header.name);
      } catch (e) {
        failure = e as Error;
        skip(stream, next);
        return;
      }
      const path = parts.join('/');
      if (path === 'etc/.wh..wh..opq') {
        delete users.passwd;
        delete users.group;
      }
      for (const [file, key] of Object.entries(FILES)) {
        if (path === file.replace(/[^/]+$/, (n) => `.wh.${n}`)) delete users[key];
      }
      const key = FILES[path as keyof typeof FILES];
      if (!key || header.type !== 'file') {
        skip(stream, next);
        return;
      }
      if ((header.size ?? 0) > MAX_FILE) {
        failure = new CloakError('K8S_IMAGE_CONFIG', `/${path} in the image is larger than 1 MiB`);
        skip(stream, next);
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        users[key] = Buffer.concat(chunks).toString('utf8');
        next();
      });
      stream.on('error', next);
    });
    const source = await layer.open();
    await (gzip ? pipeline(source, createGunzip(), extract) : pipeline(source, extract));
    if (failure) throw failure;
  }
  return users;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function passwdEntries(text: string | undefined): PasswdEntry[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) }));
}

function groupEntries(text: string | undefined): Array<{ name: string; gid: number; members: string[] }> {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[2]!))
    .map((f) => ({
      name: f[0]!,
      gid: Number(f[2]),
      members: (f[3] ?? '')
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
    }));
}

/**
 * The uid and gid an image's `User` ("name", "uid", "name:group", "uid:gid")
 * runs as, the way containerd resolves it against the image's files.
 */
export function resolveImageUser(
  user: string | undefined,
  users: ImageUsers | undefined,
  where: string,
): { uid: number; gid: number } {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':', 2) as [string, string | undefined];
  const passwd = passwdEntries(users?.passwd);
  const entry = /^\d+$/.test(u) ? passwd.find((p) => p.uid === Number(u)) : passwd.find((p) => p.name === u);
  if (!/^\d+$/.test(u) && !entry) {
    throw new CloakError(
      'K8S_POLICY_USER',
      `${where}: the image runs as user "${u}", which ${users?.passwd ? 'its /etc/passwd does not list' : 'cannot be looked up (no /etc/passwd read from its layers)'}; set securityContext.runAsUser and runAsGroup`,
    );
  }
  const uid = /^\d+$/.test(u) ? Number(u) : entry!.uid;
  if (g === undefined) return { uid, gid: entry?.gid ?? 0 };
  if (/^\d+$/.test(g)) return { uid, gid: Number(g) };
  const group = groupEntries(users?.group).find((x) => x.name === g);
  if (!group)
    throw new CloakError(
      'K8S_POLICY_USER',
      `${where}: the image runs as group "${g}", which cannot be looked up in its /etc/group; set securityContext.runAsGroup`,
    );
  return { uid, gid: group.gid };
}

/** The groups containerd adds for a uid: those of its user name in the image's /etc/group. */
export function imageGroupsOf(uid: number, users: ImageUsers | undefined): number[] {
  const name = passwdEntries(users?.passwd).find((p) => p.uid === uid)?.name;
  if (!name) return [];
  return groupEntries(users?.group)
    .filter((g) => g.members.includes(name))
    .map((g) => g.gid);
}
