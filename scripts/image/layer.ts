/**
 * Deterministic layer tars: the same files give the same bytes on any machine and at any time.
 * Entries sorted by path, every parent directory present, one fixed mtime, owner 0:0 (unless an
 * entry says otherwise), no user or group names, modes normalised (0755 for directories and
 * anything executable, 0644 otherwise), hard links stored as files.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pack } from 'tar-stream';

export type LayerEntry =
  | { path: string; type: 'directory'; mode?: number; uid?: number }
  | { path: string; type: 'file'; data: Buffer; executable?: boolean }
  | { path: string; type: 'symlink'; target: string };

/**
 * The files under `dir`, placed under `dest` in the image (`dest` is an absolute image path).
 * `keep` gets each path relative to `dir` ("usr/share/doc/x") and decides what goes in.
 */
export function treeEntries(dir: string, dest: string, keep: (rel: string) => boolean = () => true): LayerEntry[] {
  const out: LayerEntry[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (!keep(r)) continue;
      const src = join(dir, r);
      const path = posix.join(dest, r);
      const st = lstatSync(src);
      if (st.isSymbolicLink()) out.push({ path, type: 'symlink', target: readlinkSync(src) });
      else if (st.isDirectory()) {
        out.push({ path, type: 'directory' });
        walk(r);
      } else if (st.isFile())
        out.push({ path, type: 'file', data: readFileSync(src), executable: (st.mode & 0o111) !== 0 });
      // sockets, fifos and devices have no place in an image layer
    }
  };
  walk('');
  return out;
}

/** The uncompressed tar of `entries`, at `mtime` (seconds since the epoch). Later duplicates replace earlier ones. */
export async function tarLayer(entries: LayerEntry[], mtime: number): Promise<Buffer> {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) {
    const p = posix.normalize(e.path).replace(/^\/+|\/+$/g, '');
    if (!p || p.startsWith('..')) throw new Error(`layer entry outside the root: ${e.path}`);
    for (let parent = posix.dirname(p); parent !== '.'; parent = posix.dirname(parent)) {
      if (!byPath.has(parent)) byPath.set(parent, { path: parent, type: 'directory' });
    }
    byPath.set(p, { ...e, path: p });
  }
  const sorted = [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  const header = { mtime: new Date(mtime * 1000), uid: 0, gid: 0, uname: '', gname: '' };
  for (const e of sorted) {
    if (e.type === 'directory')
      tar.entry({
        ...header,
        name: `${e.path}/`,
        type: 'directory',
        mode: e.mode ?? 0o755,
        uid: e.uid ?? 0,
        gid: e.uid ?? 0,
      });
    else if (e.type === 'symlink')
      tar.entry({ ...header, name: e.path, type: 'symlink', linkname: e.target, mode: 0o777 });
    else
      tar.entry(
        { ...header, name: e.path, type: 'file', mode: e.executable ? 0o755 : 0o644, size: e.data.length },
        e.data,
      );
  }
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}
