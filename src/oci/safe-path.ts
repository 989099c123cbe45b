import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CloakError } from '../lib/index.ts';

const MAX_LINK_HOPS = 40;

/** An image-supplied name for an error message: cut to 200 characters, control characters escaped. */
export const printable = (s: unknown): string => JSON.stringify(String(s).slice(0, 200)).slice(1, -1);

/** Splits a tar entry name into components; refuses absolute paths, "..", NUL and oversized names. */
export function entryComponents(name: string): string[] {
  if (name.length > 4096 || name.includes('\0'))
    throw new CloakError('OCI_LAYER_PATH_INVALID', `layer entry name is too long or holds NUL`);
  const trimmed = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (trimmed.startsWith('/'))
    throw new CloakError('OCI_LAYER_PATH_ESCAPE', `layer entry "${printable(name)}" is an absolute path`);
  const parts = trimmed.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..'))
    throw new CloakError('OCI_LAYER_PATH_ESCAPE', `layer entry "${printable(name)}" climbs out with ".."`);
  return parts;
}

/** A symlink's target as stored: any text (it is resolved inside the root whenever a later entry goes through it), but no NUL and not oversized. */
export function linkTarget(entry: string, linkname: string | null | undefined): string {
  const target = linkname ?? '';
  if (target === '' || target.length > 4096 || target.includes('\0'))
    throw new CloakError(
      'OCI_LAYER_PATH_INVALID',
      `symlink "${printable(entry)}" has an empty, oversized or NUL-holding target`,
    );
  return target;
}

/**
 * Resolves the parent directories of `parts` inside `root` the way a chroot
 * would: symlinks are followed (absolute targets from the root), and any
 * resolution that would leave the root is refused. The last component is not
 * followed. Returns the host path to create or replace.
 */
export function resolveInRoot(root: string, parts: string[]): string {
  const resolved: string[] = [];
  const pending = parts.slice(0, -1);
  let hops = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.' || part === '') continue;
    if (part === '..') {
      if (resolved.length === 0)
        throw new CloakError('OCI_LAYER_PATH_ESCAPE', 'a symlink in the layer resolves outside the rootfs');
      resolved.pop();
      continue;
    }
    const host = join(root, ...resolved, part);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      resolved.push(part);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS)
        throw new CloakError('OCI_LAYER_PATH_ESCAPE', 'too many symlinks while resolving a layer path');
      const target = readlinkSync(host);
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...target.split('/').filter((p) => p !== ''));
      continue;
    }
    if (!st.isDirectory())
      throw new CloakError(
        'OCI_LAYER_PATH_INVALID',
        `layer path goes through "${[...resolved, part].join('/')}", which is not a directory`,
      );
    resolved.push(part);
  }
  return join(root, ...resolved, parts[parts.length - 1] ?? '');
}
