/**
 * `cloak … | head`: when the reader of the CLI's stdout or stderr goes away
 * early, the CLI drops the rest of that output and exits with its own status,
 * with no unhandled EPIPE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnCloak, tempDir } from './harness.ts';

const CRASH = /EPIPE|Unhandled|node:events|Error:/;

test('cloak run --help into a reader that closed before any output: exit 0, nothing on stderr', async () => {
  const r = spawnCloak(['run', '--help']);
  r.proc.stdout.destroy();
  const done = await r.done;
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.stderr, '');
});

test('cloak generate writing ~200 KB of YAML into a reader that closes after the first bytes: exits 0, no unhandled error', async () => {
  const dir = tempDir('cloak-pipe-');
  try {
    const deployment = (i: number) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app${i}}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n      containers: [{name: c, image: 'registry.example/app@sha256:${'a'.repeat(64)}'}]\n`;
    const input = join(dir.path, 'deploy.yaml');
    writeFileSync(input, Array.from({ length: 100 }, (_, i) => deployment(i)).join('---\n'));
    // The agent policy needs the image's config: offline, so the test reaches no registry.
    const configs = join(dir.path, 'configs');
    mkdirSync(configs);
    writeFileSync(
      join(configs, `sha256-${'a'.repeat(64)}.json`),
      JSON.stringify({ config: { Entrypoint: ['/app'], User: '1000:1000' } }),
    );
    const r = spawnCloak([
      'generate',
      input,
      '--server',
      'http://cloak.example:8080',
      '--image-configs',
      configs,
      '--offline',
    ]);
    let got = 0;
    r.proc.stdout.once('data', (chunk: Buffer) => {
      got = chunk.length;
      r.proc.stdout.destroy();
    });
    const done = await r.done;
    assert.equal(done.code, 0, done.stderr);
    assert.ok(got > 0 && got < 190_000, `the reader closed after ${got} bytes, before the end of the output`);
    assert.doesNotMatch(done.stderr, CRASH);
    assert.match(
      done.stderr,
      /\b500 change\(s\)$/m,
      'the command finished (its summary on stderr) after its stdout reader left',
    );
  } finally {
    dir.remove();
  }
});

test('a usage error into a closed stderr: exit 2 (usage), not a crash', async () => {
  const r = spawnCloak(['no-such-command']);
  r.proc.stderr.destroy();
  const done = await r.done;
  assert.equal(done.code, 2);
  assert.doesNotMatch(done.stdout, CRASH);
});
