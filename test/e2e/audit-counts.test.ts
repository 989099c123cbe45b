import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/index.ts';
import { startCloak, runCloak, http, tempDir } from './harness.ts';
import { KbsClient, teeKey, bindingDigest, attestPayload } from './kbs-client.ts';

const DEV_POLICY = 'version: 1\nallowInsecure: [sample]\ntrustVector:\n  hardware: "2"\n';
const HOUR = 3_600_000;

/** Runs `n` requests, `width` at a time. */
async function flood(n: number, width: number, request: (i: number) => Promise<number>): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const status = await request(next++);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  return statuses;
}

/**
 * The attack of issue #13 (finding 8): an anonymous client hammers the KBS with requests it knows will be refused
 * (and with challenges, which anyone may ask for). The hash chain must not grow with them; they are counted per
 * client address and reason instead, visible to the admin, and old counts go after the retention period.
 */
test('thousands of refused anonymous requests leave a bounded audit log: counted per source and reason, accepted records kept, retention honoured, chain intact', async () => {
  const dir = tempDir('cloak-flood-');
  const config = join(dir.path, 'cloak.yaml');
  writeFileSync(config, 'refusalRetention: 24h\n');
  let server = await startCloak({ data: dir.path, args: ['--config', config] });
  try {
    const admin = { authorization: `Bearer ${server.token}` };
    await http('PUT', `${server.url}/api/v1/policies/attestation`, { body: { text: DEV_POLICY }, headers: admin });
    await http('PUT', `${server.url}/api/v1/resources/default/secret/one`, {
      body: { value: Buffer.from('1').toString('base64') },
      headers: admin,
    });
    const head = async () =>
      (await http('GET', `${server.url}/api/v1/audit/head`, { headers: admin })).json.seq as number;
    const before = await head();

    const anonymous = await flood(3000, 16, async (i) => {
      const url = server.url;
      if (i % 6 === 0)
        return (
          await http('POST', `${url}/kbs/v0/attest`, {
            body: attestPayload('AAAA', teeKey('EC'), { svn: '1', report_data: '' }),
          })
        ).status;
      if (i % 6 === 1) return (await new KbsClient(url).auth('sample')).status;
      if (i % 6 === 2)
        return (
          await http('GET', `${url}/kbs/v0/resource/default/secret/one`, {
            headers: { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.AAAA' },
          })
        ).status;
      return (await http('GET', `${url}/kbs/v0/resource/default/secret/one`)).status;
    });
    assert.deepEqual(Object.fromEntries(anonymous), { 401: 2500, 200: 500 });

    // A genuine attestation and release in the middle of it are always kept.
    const key = teeKey('EC');
    const client = new KbsClient(server.url);
    const { nonce } = await client.auth('sample');
    assert.equal(
      (
        await client.attest(
          attestPayload(nonce!, key, { svn: '1', report_data: bindingDigest(nonce!, key.jwk).toString('base64') }),
        )
      ).status,
      200,
    );
    assert.equal((await client.resource('default/secret/one', 'bearer')).status, 200);
    assert.equal(await head(), before + 2, 'the chain grew by the accepted attestation and the release only');
    const kept = (await http('GET', `${server.url}/api/v1/audit?afterSeq=${before}`, { headers: admin })).json;
    assert.deepEqual(
      kept.map((r: any) => [r.kind, r.outcome, r.details?.source]),
      [
        ['kbs.attest', 'ok', '127.0.0.1'],
        ['kbs.release', 'ok', '127.0.0.1'],
      ],
    );

    // Every refusal is still visible, counted per source and reason, through the CLI (the admin API underneath).
    const ls = await runCloak([
      'audit',
      'counts',
      '--json',
      '--source',
      '127.0.0.1',
      '--server',
      server.url,
      '--token',
      server.token,
    ]);
    assert.equal(ls.code, 0, ls.stderr);
    const counts = JSON.parse(ls.stdout) as Array<{
      kind: string;
      outcome: string;
      code: string;
      count: number;
      sample?: string;
    }>;
    const total = (kind: string, code: string) =>
      counts.filter((c) => c.kind === kind && c.code === code).reduce((n, c) => n + c.count, 0);
    assert.equal(total('kbs.release', 'KBS_UNAUTHENTICATED'), 1500);
    assert.equal(total('kbs.release', 'KBS_TOKEN_INVALID'), 500);
    assert.equal(total('kbs.attest', 'KBS_SESSION_UNKNOWN'), 500);
    assert.equal(total('kbs.auth', 'OK'), 501, 'challenges issued are counted too: anyone may ask for one');
    assert.match(counts.find((c) => c.code === 'KBS_TOKEN_INVALID')!.sample!, /^KBS_TOKEN_INVALID: /);
    const table = await runCloak([
      'audit',
      'counts',
      '--outcome',
      'refused',
      '--server',
      server.url,
      '--token',
      server.token,
    ]);
    assert.match(table.stdout, /\t127\.0\.0\.1\tkbs\.release\trefused\tKBS_UNAUTHENTICATED\t1500\t/);
    await server.stop();

    const db = new Database(join(dir.path, 'cloak.db'), { readonly: true });
    const rows = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    assert.ok(
      rows('SELECT COUNT(*) AS n FROM audit_counts') <= 10,
      `${rows('SELECT COUNT(*) AS n FROM audit_counts')} count rows for 3,000 anonymous requests`,
    );
    assert.equal(rows('SELECT COUNT(*) AS n FROM audit'), before + 2);
    db.close();

    // Retention: counts of hours that ended more than 24 h ago go at the next start; newer ones stay.
    const store = await openStore(`sqlite:${join(dir.path, 'cloak.db')}`, {
      sealingKey: readFileSync(join(dir.path, 'sealing.key')),
    });
    const old = {
      kind: 'kbs.release',
      outcome: 'refused' as const,
      code: 'KBS_UNAUTHENTICATED',
      source: '198.51.100.7',
    };
    await store.countAudit(old, new Date(Date.now() - 3 * 24 * HOUR));
    await store.countAudit({ ...old, source: '198.51.100.8' }, new Date(Date.now() - 2 * HOUR));
    await store.close();
    server = await startCloak({ data: dir.path, args: ['--config', config] });
    const after = (
      await http('GET', `${server.url}/api/v1/audit/counts?limit=1000`, {
        headers: { authorization: `Bearer ${server.token}` },
      })
    ).json;
    const sources = new Set(after.map((c: any) => c.source));
    assert.equal(sources.has('198.51.100.7'), false, 'a count older than the retention is gone');
    assert.equal(sources.has('198.51.100.8'), true, 'a count within the retention stays');
    assert.equal(sources.has('127.0.0.1'), true);
    const verify = await runCloak(['audit', 'verify', '--server', server.url, '--token', server.token]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stderr, /audit log intact/);
  } finally {
    await server.stop();
    dir.remove();
  }
});
