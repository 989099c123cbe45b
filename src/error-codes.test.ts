import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIB_ERRORS } from './lib/errors.ts';
import { ATTEST_ERRORS } from './attest/errors.ts';
import { MANIFEST_ERRORS } from './manifest/errors.ts';
import { POLICY_ERRORS } from './policy/errors.ts';
import { OCI_ERRORS } from './oci/errors.ts';
import { STORE_ERRORS } from './store/errors.ts';
import { KBS_ERRORS } from './kbs/errors.ts';
import { AGENT_ERRORS } from './agent/errors.ts';
import { RUNTIME_ERRORS } from './runtime/errors.ts';
import { K8S_ERRORS } from './k8s/errors.ts';
import { SERVER_ERRORS } from './server/errors.ts';
import { CLI_ERRORS } from './cli/errors.ts';

/*
 * The type system checks every code a throw site passes (CloakError's `code`
 * is `keyof ErrorCatalogue`). What it cannot show is checked here: that no
 * code is in two catalogues, that the codes tests expect exist, and that the
 * casts to ErrorCode are only where a peer's code is passed on.
 */
const SRC = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(SRC);
const CATALOGUES = {
  lib: LIB_ERRORS,
  attest: ATTEST_ERRORS,
  manifest: MANIFEST_ERRORS,
  policy: POLICY_ERRORS,
  oci: OCI_ERRORS,
  store: STORE_ERRORS,
  kbs: KBS_ERRORS,
  agent: AGENT_ERRORS,
  runtime: RUNTIME_ERRORS,
  k8s: K8S_ERRORS,
  server: SERVER_ERRORS,
  cli: CLI_ERRORS,
};
const known = new Set(Object.values(CATALOGUES).flatMap((c) => Object.keys(c)));

/** Where a code from outside reaches a CloakError as the peer sent it (the server's problem `code`). */
const CASTS_ALLOWED = ['src/agent/kbs-client.ts', 'src/cli/client.ts', 'src/lib/writer.test.ts'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'testdata' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}
const files = ['src', 'test', 'bench', 'scripts'].flatMap((d) => {
  try {
    return sources(join(ROOT, d));
  } catch {
    return [];
  }
});

test('each code is in one catalogue only, spelled UPPER_SNAKE', () => {
  const seen = new Map<string, string>();
  for (const [layer, catalogue] of Object.entries(CATALOGUES)) {
    for (const code of Object.keys(catalogue)) {
      assert.match(code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/, `${layer}: ${code}`);
      assert.equal(seen.get(code), undefined, `${code} is in the ${seen.get(code)} and the ${layer} catalogues`);
      seen.set(code, layer);
    }
  }
});

test('every code a check names (isCloakError(e, CODE), { code: CODE } in assert.throws) is in a catalogue', () => {
  const expects = /isCloakError\([^,()]+, '([A-Z0-9_]+)'\)|assert\.(?:throws|rejects)\(.*\{ code: '([A-Z0-9_]+)' \}/g;
  const unknown: string[] = [];
  let checks = 0;
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(expects)) {
      checks++;
      const code = m[1] ?? m[2]!;
      if (!known.has(code)) unknown.push(`${relative(ROOT, f)}: ${code}`);
    }
  }
  assert.deepEqual(unknown, []);
  assert.ok(checks > 100, `only ${checks} checks found: has the pattern drifted from how tests name codes?`);
});

test("a string becomes an ErrorCode by a cast only where a peer's code is passed on", () => {
  const casting = files
    .filter((f) => /\bas ErrorCode\b/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(ROOT, f))
    .sort();
  assert.deepEqual(
    casting,
    CASTS_ALLOWED.filter((f) => casting.includes(f)),
  );
  assert.ok(casting.length <= CASTS_ALLOWED.length);
});
