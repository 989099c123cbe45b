/**
 * Issue #13, finding 12: a database error told unauthenticated clients the
 * database's host and port (`connect ECONNREFUSED 127.0.0.1:15432` in a 503
 * body). Clients now learn only that the database is unreachable; the log
 * keeps the detail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPgCluster, pgAvailable } from '../../src/store/testing/pg-cluster.ts';
import { startCloak, http, tempDir } from './harness.ts';

const skip = pgAvailable() ? false : 'needs PostgreSQL (initdb, pg_ctl)';

test(
  'finding 12: with PostgreSQL down, clients get "the database is unreachable", the log gets the address',
  { skip },
  async () => {
    const cluster = await startPgCluster();
    const data = tempDir('cloak-dberr-');
    const port = new URL(cluster.url).port;
    const server = await startCloak({ data: data.path, args: ['--db', cluster.url], captureLog: true });
    try {
      assert.equal(
        (await http('POST', `${server.url}/kbs/v0/auth`, { body: { version: '0.4.0', tee: 'sample' } })).status,
        200,
      );
      await cluster.stop();

      const answers = [
        await http('POST', `${server.url}/kbs/v0/auth`, { body: { version: '0.4.0', tee: 'sample' } }),
        await http('GET', `${server.url}/kbs/v0/resource/default/secret/x`, {
          headers: { cookie: 'kbs-session-id=00' },
        }),
        await http('GET', `${server.url}/api/v1/resources`, { headers: { authorization: `Bearer ${server.token}` } }),
      ];
      for (const res of answers) {
        assert.equal(res.status, 503, res.text);
        assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.equal(res.json.code, 'STORE_UNAVAILABLE');
        assert.equal(res.json.detail, 'the database is unreachable; retry later');
        assert.ok(
          !/127\.0\.0\.1|ECONNREFUSED|postgres/i.test(res.text) && !res.text.includes(port),
          `no address in ${res.text}`,
        );
      }
      let log = '';
      for (let i = 0; i < 100 && !(log = server.log()).includes(`127.0.0.1:${port}`); i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.match(log, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`), 'the log has the detail');
    } finally {
      await server.stop();
      await cluster.stop();
      data.remove();
    }
  },
);
