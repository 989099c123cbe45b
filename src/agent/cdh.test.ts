import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCloakError } from '../lib/index.ts';
import { cdhResource, cdhBaseUrl } from './cdh-client.ts';
import { runAgentCdh, secretsFromArgs } from './cdh-init.ts';
import { startCdhStandIn } from './testing/cdh-standin.ts';

const KBS = new Map([
  ['kbs:///default/secret/tls-key', Buffer.from([1, 2, 3, 0, 255])],
  ['kbs:///default/secret/db', Buffer.from("pw'1")],
]);
const fromMap = async (uri: string) => {
  const v = KBS.get(uri);
  // What the CDH's 500 body says when the KBS answers 404 (kms cc_kbc → kbs_protocol "resource not found").
  if (!v) throw new Error(`get resource failed: KBS resource ${uri} not found`);
  return v;
};
const mode = (p: string) => lstatSync(p).mode & 0o7777;

async function withCdh(
  fn: (url: string, out: string, requests: string[]) => Promise<void>,
  opts: { resourceFeature?: boolean } = {},
) {
  const cdh = await startCdhStandIn({ getResource: fromMap, ...opts });
  const root = mkdtempSync(join(tmpdir(), 'cloak-cdh-'));
  try {
    await fn(cdh.url, join(root, 'out'), cdh.requests);
  } finally {
    await cdh.close();
    rmSync(root, { recursive: true, force: true });
  }
}

test('the agent gets each secret from the data hub and writes them: files 0400, variables in cloak.env', () =>
  withCdh(async (url, out, requests) => {
    const secrets = secretsFromArgs(
      ['tls/key.pem=default/secret/tls-key', 'db=default/secret/db'],
      ['DB_PASSWORD=default/secret/db'],
    );
    const r = await runAgentCdh({ url, out, secrets });
    assert.deepEqual(r.files, ['tls/key.pem', 'db']);
    assert.deepEqual(readFileSync(join(out, 'tls/key.pem')), Buffer.from([1, 2, 3, 0, 255]));
    assert.equal(readFileSync(join(out, 'cloak.env'), 'utf8'), "DB_PASSWORD='pw'\\''1'\n");
    for (const f of ['tls/key.pem', 'db', 'cloak.env']) assert.equal(mode(join(out, f)), 0o400, f);
    assert.equal(mode(out), 0o755);
    // One request per resource, on api-server-rest's path.
    assert.deepEqual(requests, ['/cdh/resource/default/secret/tls-key', '/cdh/resource/default/secret/db']);
  }));

test('one missing resource: a clear error and nothing written', () =>
  withCdh(async (url, out) => {
    const secrets = secretsFromArgs(['a=default/secret/db', 'b=default/secret/missing'], []);
    await assert.rejects(
      runAgentCdh({ url, out, secrets }),
      (e) =>
        isCloakError(e, 'AGENT_CDH_RESOURCE_FAILED') &&
        /default\/secret\/missing.*not found/.test((e as Error).message),
    );
    assert.ok(!existsSync(out) || readdirSync(out).length === 0);
  }));

test('a guest without the resource feature, a caller-side size bound, a data hub that never answers', async () => {
  await withCdh(
    async (url, out) => {
      await assert.rejects(runAgentCdh({ url, out, secrets: secretsFromArgs(['a=default/secret/db'], []) }), (e) =>
        isCloakError(e, 'AGENT_CDH_FEATURE_DISABLED'),
      );
      assert.equal(existsSync(out), false);
    },
    { resourceFeature: false },
  );
  await withCdh(async (url) => {
    await assert.rejects(cdhResource('default/secret/db', { url, maxBytes: 3 }), (e) =>
      isCloakError(e, 'AGENT_CDH_TOO_LARGE'),
    );
  });
  // A body with no length that never ends: read up to the bound, no further.
  const endless = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(64 * 1024, 7);
    const more = () => {
      while (res.write(chunk));
    };
    res.on('drain', more);
    more();
  });
  await new Promise<void>((r) => endless.listen(0, '127.0.0.1', r));
  try {
    const port = (endless.address() as { port: number }).port;
    await assert.rejects(
      cdhResource('default/secret/db', { url: `http://127.0.0.1:${port}`, maxBytes: 1024 * 1024 }),
      (e) => isCloakError(e, 'AGENT_CDH_TOO_LARGE'),
    );
  } finally {
    endless.closeAllConnections();
    await new Promise((r) => endless.close(r));
  }
  const sockets = new Set<import('node:net').Socket>();
  const silent = createServer((s) => {
    sockets.add(s);
  }); // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const port = (silent.address() as { port: number }).port;
    await assert.rejects(cdhResource('default/secret/db', { url: `http://127.0.0.1:${port}`, timeoutMs: 300 }), (e) =>
      isCloakError(e, 'AGENT_CDH_TIMEOUT'),
    );
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test('nothing listening: unreachable after the retries; the data hub must be on loopback http', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  await assert.rejects(cdhResource('default/secret/db', { url: `http://127.0.0.1:${port}`, retries: 1 }), (e) =>
    isCloakError(e, 'AGENT_CDH_UNREACHABLE'),
  );
  for (const bad of ['http://10.0.0.1:8006', 'https://127.0.0.1:8006', 'http://127.0.0.1:8006/x', 'nonsense']) {
    assert.throws(
      () => cdhBaseUrl(bad),
      (e) => isCloakError(e, 'USAGE_CDH_URL'),
      bad,
    );
  }
  assert.equal(cdhBaseUrl('http://127.0.0.1:8006'), 'http://127.0.0.1:8006');
});

test('the secret arguments are checked like cloak.toml entries', () => {
  for (const [files, envs, message] of [
    [['../x=a/b/c'], [], /relative path/],
    [['x=a/b'], [], /repo\/type\/tag/],
    [[], ['1X=a/b/c'], /variable name/],
    [['x=a/b/c', 'x=a/b/d'], [], /twice/],
    [['noequals'], [], /<where>=<repo\/type\/tag>/],
  ] as const) {
    assert.throws(
      () => secretsFromArgs([...files], [...envs]),
      (e) => isCloakError(e, 'USAGE_SECRET_ARG') && message.test((e as Error).message),
    );
  }
  assert.deepEqual(secretsFromArgs(['a=b=default/x/y'], []), [
    { resource: 'default/x/y', file: 'a=b', env: undefined },
  ]);
});
