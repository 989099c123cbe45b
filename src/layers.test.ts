import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/*
 * The lint's layer table (eslint.config.js) says what ../shared/DESIGN.md's
 * table says: the same folders, each allowed the same folders.
 */
// eslint.config.js is plain JS without types: import it by a computed specifier and say what it holds.
const CONFIG = new URL('../eslint.config.js', import.meta.url).href;
const DESIGN = fileURLToPath(new URL('../../shared/DESIGN.md', import.meta.url));

/** The src/ rows of DESIGN.md's "folder | what it is | may import" table, as folder → folders it may import. */
function designTable(markdown: string): Record<string, string[]> {
  const rows = markdown
    .split('\n')
    .map((line) => /^\| `src\/([a-z0-9]+)\/` \|.*\| ([^|]+) \|$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!.trim()] as const);
  const folders = rows.map(([folder]) => folder);
  return Object.fromEntries(
    rows.map(([folder, cell], i) => {
      if (cell === 'nothing of ours') return [folder, []];
      if (cell === 'everything above') return [folder, folders.slice(0, i)];
      if (cell === 'everything') return [folder, folders.filter((f) => f !== folder)];
      // "lib, attest (formats), oci, kbs protocol (not the broker)": the folder is each item's first word.
      return [
        folder,
        cell
          .replace(/\([^)]*\)/g, '')
          .split(',')
          .map((item) => item.trim().split(/\s+/)[0]!),
      ];
    }),
  );
}

const sorted = (t: Record<string, string[]>) =>
  Object.fromEntries(
    Object.keys(t)
      .sort()
      .map((k) => [k, [...t[k]!].sort()]),
  );

test(
  "the lint's layer table is DESIGN.md's",
  { skip: existsSync(DESIGN) ? false : `no ${DESIGN} (the shared design notes sit beside the repo)` },
  async () => {
    const { layers } = (await import(CONFIG)) as { layers: Record<string, string[]> };
    const design = designTable(readFileSync(DESIGN, 'utf8'));
    assert.ok(Object.keys(design).length >= 10, "DESIGN.md's table was read (has its format changed?)");
    assert.deepEqual(sorted(layers), sorted(design));
  },
);
