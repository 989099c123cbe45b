import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directoryCandidates, directoryCollateral, httpCollateral } from './index.ts';

test('directoryCollateral: host/path_query, host/path, path; never escapes the directory', async () => {
  assert.deepEqual(directoryCandidates('https://kdsintf.amd.com/vcek/v1/Milan/abcd?blSPL=1&teeSPL=0'), [
    'kdsintf.amd.com/vcek/v1/Milan/abcd_blSPL=1&teeSPL=0',
    'kdsintf.amd.com/vcek/v1/Milan/abcd',
    'vcek/v1/Milan/abcd',
  ]);
  assert.deepEqual(directoryCandidates('not a url'), []);
  const dir = mkdtempSync(join(tmpdir(), 'cloak-collateral-'));
  try {
    mkdirSync(join(dir, 'vcek/v1/Milan'), { recursive: true });
    writeFileSync(join(dir, 'vcek/v1/Milan/crl'), 'crl');
    const c = directoryCollateral(dir);
    assert.equal(Buffer.from((await c.get('https://kdsintf.amd.com/vcek/v1/Milan/crl'))!).toString(), 'crl');
    assert.equal(await c.get('https://kdsintf.amd.com/vcek/v1/Genoa/crl'), undefined);
    assert.equal(await c.get('https://kdsintf.amd.com/%2e%2e/%2e%2e/etc/passwd'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('httpCollateral: caches 200s for the TTL, shares concurrent fetches, 404/errors give undefined (injected fetch, no network)', async () => {
  let calls = 0;
  let clock = 0;
  const fake = (async (url: string | URL | Request) => {
    calls++;
    const u = String(url);
    if (u.endsWith('/boom')) throw new Error('network down');
    return new Response(u.endsWith('/missing') ? null : `body of ${u}`, { status: u.endsWith('/missing') ? 404 : 200 });
  }) as typeof fetch;
  const c = httpCollateral({ fetch: fake, now: () => clock, ttlMs: 1000 });
  const [a, b] = await Promise.all([c.get('https://x.test/a'), c.get('https://x.test/a')]);
  assert.equal(Buffer.from(a!).toString(), 'body of https://x.test/a');
  assert.equal(a, b);
  assert.equal(calls, 1);
  await c.get('https://x.test/a');
  assert.equal(calls, 1);
  clock = 2000;
  await c.get('https://x.test/a');
  assert.equal(calls, 2);
  assert.equal(await c.get('https://x.test/missing'), undefined);
  assert.equal(await c.get('https://x.test/boom'), undefined);
});
