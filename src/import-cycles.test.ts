import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/*
 * No import circles in src: every relative import (static, type-only, re-export
 * or dynamic) is an edge, and a cycle among the files fails the test. A circle
 * means two files are one concern in two places (or a layer that reaches back up).
 */
const SRC = dirname(fileURLToPath(import.meta.url));

/** Circles known when this test was written, each to be broken by its folder's owner (then removed from here). */
const KNOWN: string[][] = [
  // type-only: oci/manifest.ts takes Descriptor, ImageConfig and ImageManifest from layout.ts, which parses with manifest.ts.
  ['oci/layout.ts', 'oci/manifest.ts', 'oci/platform.ts'],
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  return new Map(
    files.map((f) => {
      const { importedFiles } = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
      const targets = importedFiles
        .map((i) => i.fileName)
        .filter((n) => n.startsWith('.'))
        .map((n) => resolve(dirname(f), n));
      return [f, [...new Set(targets.filter((t) => known.has(t)))]];
    }),
  );
}

/** The strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('no import circles in src (relative imports of every .ts file, read with the TypeScript compiler)', () => {
  const files = sources(SRC);
  assert.ok(files.length > 100, `found only ${files.length} source files under ${SRC}`);
  const found = cycles(importGraph(files)).map((c) => c.map((f) => relative(SRC, f)).sort());
  const known = new Set(KNOWN.map((c) => [...c].sort().join(' ')));
  const fresh = found.filter((c) => !known.has(c.join(' ')));
  assert.deepEqual(fresh, [], `import circles:\n${fresh.map((c) => '  ' + c.join(' ↔ ')).join('\n')}`);
});

test('the cycle finder finds a circle, a self-import and none in a chain', () => {
  const g = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
  assert.deepEqual(
    cycles(g({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] })).map((c) => c.sort()),
    [['a', 'b', 'c']],
  );
  assert.deepEqual(cycles(g({ a: ['a'] })), [['a']]);
  assert.deepEqual(cycles(g({ a: ['b'], b: ['c'], c: [] })), []);
});
