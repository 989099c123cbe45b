import {
  createWriteStream,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
  linkSync,
  chmodSync,
  lchownSync,
  utimesSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { CloakError } from '../lib/index.ts';
import { entryComponents, linkTarget, printable, resolveInRoot } from './safe-path.ts';

export interface UnpackLimits {
  maxEntries: number;
  maxBytes: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = { maxEntries: 1_000_000, maxBytes: 32 * 1024 ** 3 };

export interface UnpackOptions {
  limits?: UnpackLimits;
  /** Give entries the owners the layer names; default: when running as root. */
  chown?: boolean;
  /**
   * The host id that owns what the layer gives id `id` (uids and gids alike),
   * e.g. a user namespace's range; implies `chown`. Directories the layer only
   * implies, and the root itself, are owned by `mapIds(0)`.
   */
  mapIds?: (id: number) => number;
}

export interface UnpackStats {
  entries: number;
  bytes: number;
  skippedDevices: number;
  strippedSetuid: number;
}

const WHITEOUT = '.wh.';
/** AUFS metadata (`.wh..wh.plnk`, `.wh..wh.orph`, …) other than the opaque marker: never applied, as containerd does. */
const WHITEOUT_META = '.wh..wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * Applies one uncompressed layer tar to `root` safely: OCI whiteouts and
 * opaque directories, hard links and symlinks that never resolve outside the
 * root, no device nodes, setuid/setgid bits dropped, path traversal refused,
 * entry-count and size limits against tar bombs. The caller unpacks into a
 * fresh directory and removes it on failure, so nothing half-written stays.
 */
export async function applyLayer(layer: Readable, root: string, opts: UnpackOptions = {}): Promise<UnpackStats> {
  const limits = opts.limits ?? DEFAULT_UNPACK_LIMITS;
  const mapId = ownerMapping(opts);
  const stats: UnpackStats = { entries: 0, bytes: 0, skippedDevices: 0, strippedSetuid: 0 };
  const createdHere = new Set<string>();
  const extract = tar.extract();

  extract.on('entry', (header, stream, next) => {
    // A failing extract destroys the current entry with its error, which the pipeline below reports: not an uncaught one.
    stream.on('error', () => {});
    const done = (e?: unknown) => (e ? next(e as Error) : next());
    handle(header, stream as unknown as Readable).then(
      () => done(),
      (e) => {
        stream.resume();
        done(e);
      },
    );
  });

  async function handle(header: tar.Header, stream: Readable): Promise<void> {
    try {
      await apply(header, stream);
    } catch (e) {
      if (e instanceof CloakError) throw e;
      throw new CloakError(
        'OCI_LAYER_ENTRY_INVALID',
        `layer entry "${printable(header.name)}" cannot be unpacked: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  async function apply(header: tar.Header, stream: Readable): Promise<void> {
    if (++stats.entries > limits.maxEntries)
      throw new CloakError('OCI_LAYER_TOO_LARGE', `layer has more than ${limits.maxEntries} entries`);
    stats.bytes += header.size ?? 0;
    if (stats.bytes > limits.maxBytes)
      throw new CloakError('OCI_LAYER_TOO_LARGE', `layer expands beyond ${limits.maxBytes} bytes`);
    const parts = entryComponents(header.name);
    if (parts.length === 0) {
      stream.resume();
      return;
    } // the root itself
    const name = parts[parts.length - 1]!;
    const target = inside(root, resolveInRoot(root, parts));

    if (name.startsWith(WHITEOUT)) {
      stream.resume();
      const dir = dirname(target);
      if (name === OPAQUE) {
        for (const child of safeReaddir(dir))
          if (!createdHere.has(join(dir, child)))
            rmSync(inside(root, join(dir, child)), { recursive: true, force: true });
        return;
      }
      if (name.startsWith(WHITEOUT_META)) return;
      rmSync(inside(root, join(dir, whiteoutTarget(header.name, name))), { recursive: true, force: true });
      return;
    }

    let mode = (header.mode ?? 0o644) & 0o7777;
    if (mode & 0o6000) {
      stats.strippedSetuid++;
      mode &= ~0o6000;
    }
    const madeParent = mkdirSync(dirname(target), { recursive: true });
    if (mapId && madeParent) ownImplied(madeParent, dirname(target), mapId(0));

    switch (header.type) {
      case 'directory': {
        const st = lstatOrUndefined(target);
        if (st && !st.isDirectory()) rmSync(target, { recursive: true, force: true });
        if (!st || !st.isDirectory()) mkdirSync(target);
        chmodSync(target, mode);
        stream.resume();
        break;
      }
      case 'file':
      case 'contiguous-file': {
        replace(target);
        await pipeline(stream, createWriteStream(target, { flags: 'wx', mode }));
        chmodSync(target, mode);
        break;
      }
      case 'symlink': {
        replace(target);
        symlinkSync(linkTarget(header.name, header.linkname), target);
        stream.resume();
        break;
      }
      case 'link': {
        const linkParts = entryComponents(header.linkname ?? '');
        const source = inside(root, resolveInRoot(root, linkParts));
        const st = lstatOrUndefined(source);
        if (!st || !st.isFile())
          throw new CloakError(
            'OCI_LAYER_LINK_INVALID',
            `hard link "${printable(header.name)}" points at "${printable(header.linkname)}", which is not a file in the rootfs`,
          );
        replace(target);
        linkSync(source, target);
        stream.resume();
        break;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo':
        stats.skippedDevices++;
        stream.resume();
        return;
      default:
        // pax headers and other metadata are consumed by tar-stream; anything else is not content.
        stream.resume();
        return;
    }
    createdHere.add(target);
    // A hard link shares its source's inode, which already has its (mapped) owner.
    if (mapId && header.type !== 'link') lchownSync(target, mapId(header.uid ?? 0), mapId(header.gid ?? 0));
    if (header.type !== 'symlink' && header.type !== 'link' && header.mtime)
      utimesSync(target, header.mtime, header.mtime);
  }

  try {
    await pipeline(layer, extract);
  } catch (e) {
    if (e instanceof CloakError) throw e;
    throw new CloakError('OCI_LAYER_CORRUPT', `layer is not a valid tar stream: ${(e as Error).message}`, { cause: e });
  }
  return stats;
}

/** The name a whiteout `.wh.NAME` removes: one plain entry of its directory, never the directory itself or its parent. */
function whiteoutTarget(entry: string, name: string): string {
  const victim = name.slice(WHITEOUT.length);
  if (victim === '' || victim === '.' || victim === '..')
    throw new CloakError(
      'OCI_LAYER_WHITEOUT_INVALID',
      `whiteout "${printable(entry)}" names no file inside its directory (it would remove "${victim || '.'}")`,
    );
  return victim;
}

/** `p` when it lies strictly inside `root` (never the root itself); the last guard before anything is written or removed. */
function inside(root: string, p: string): string {
  const rel = relative(root, p);
  if (rel === '' || rel === '..' || rel.startsWith('../') || isAbsolute(rel))
    throw new CloakError('OCI_LAYER_PATH_ESCAPE', `a layer entry resolves to "${printable(p)}", outside the rootfs`);
  return p;
}

function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** How entry owners are set: mapped, kept as the layer names them, or (undefined) left to the unpacking process. */
function ownerMapping(opts: UnpackOptions): ((id: number) => number) | undefined {
  if (opts.mapIds) return opts.mapIds;
  return (opts.chown ?? process.getuid?.() === 0) ? (id) => id : undefined;
}

/** Owns the directories `mkdir -p` just made, from `first` down to `last`, by `id`. */
function ownImplied(first: string, last: string, id: number): void {
  for (let d = last; d.length >= first.length; d = dirname(d)) lchownSync(d, id, id);
}

/** Removes whatever is at `p` (never following a symlink there) so a new entry can take its place. */
function replace(p: string): void {
  const st = lstatOrUndefined(p);
  if (!st) return;
  rmSync(p, { recursive: st.isDirectory(), force: true });
}

/** Unpacks layers in order into a fresh `rootfs` (owned by the mapped id 0 when owners are set); on any failure the rootfs is removed. */
export async function unpackLayers(
  layers: Array<() => Promise<Readable> | Readable>,
  rootfs: string,
  opts: UnpackOptions = {},
): Promise<UnpackStats> {
  mkdirSync(rootfs, { recursive: false, mode: 0o755 });
  const total: UnpackStats = { entries: 0, bytes: 0, skippedDevices: 0, strippedSetuid: 0 };
  try {
    const rootOwner = ownerMapping(opts)?.(0);
    if (rootOwner !== undefined) lchownSync(rootfs, rootOwner, rootOwner);
    for (const open of layers) {
      const s = await applyLayer(await open(), rootfs, opts);
      total.entries += s.entries;
      total.bytes += s.bytes;
      total.skippedDevices += s.skippedDevices;
      total.strippedSetuid += s.strippedSetuid;
    }
    return total;
  } catch (e) {
    rmSync(rootfs, { recursive: true, force: true });
    throw e;
  }
}
