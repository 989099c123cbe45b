import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCloak, http, tempDir } from './harness.ts';
import { startPgCluster, pgAvailable } from '../../src/store/testing/pg-cluster.ts';
import { KbsClient, teeKey, bindingDigest, attestPayload, decryptJwe } from './kbs-client.ts';

const DEV_POLICY = 'version: 1\nallowInsecure: [sample]\ntrustVector:\n  hardware: "2"\n';
const SESSIONS = 20;

/**
 * The attack of issue #13 (finding 11): one challenge, several attests racing on its session, each binding its own
 * TEE key. One attest wins; a racer that bound the same key gets that same token, every other one a refusal.
 */
async function raceAttests(dbArgs: string[]): Promise<void> {
  const dir = tempDir('cloak-race-');
  const server = await startCloak({ data: dir.path, args: dbArgs });
  try {
    const admin = { authorization: `Bearer ${server.token}` };
    assert.equal(
      (await http('PUT', `${server.url}/api/v1/policies/attestation`, { body: { text: DEV_POLICY }, headers: admin }))
        .status,
      204,
    );
    assert.equal(
      (
        await http('PUT', `${server.url}/api/v1/resources/default/secret/race`, {
          body: { value: Buffer.from('raced').toString('base64') },
          headers: admin,
        })
      ).status,
      204,
    );
    for (let s = 0; s < SESSIONS; s++) {
      const first = new KbsClient(server.url);
      const { nonce } = await first.auth('sample');
      const keys = [teeKey('EC'), teeKey('EC'), teeKey('RSA'), teeKey('EC')];
      const racers = [...keys, keys[0]!]; // the last one repeats the first key
      const results = await Promise.all(
        racers.map((key) => {
          const c = new KbsClient(server.url);
          c.cookie = first.cookie;
          return c.attest(
            attestPayload(nonce!, key, { svn: '1', report_data: bindingDigest(nonce!, key.jwk).toString('base64') }),
          );
        }),
      );
      const won = results.filter((r) => r.status === 200);
      assert.ok(won.length >= 1, `session ${s}: no attest succeeded: ${JSON.stringify(results.map((r) => r.body))}`);
      assert.equal(
        new Set(won.map((r) => r.body.token)).size,
        1,
        `session ${s}: one challenge yielded ${new Set(won.map((r) => r.body.token)).size} tokens`,
      );
      for (const r of results.filter((r) => r.status !== 200)) {
        assert.equal(r.status, 409, JSON.stringify(r.body));
        assert.equal(r.body.code, 'KBS_SESSION_ATTESTED');
      }
      const winner = racers[results.findIndex((r) => r.status === 200)]!;
      const sameKey = racers.map((k, i) => [k, results[i]!] as const).filter(([k]) => k === winner);
      assert.ok(
        sameKey.every(([, r]) => r.status === 200),
        'a racer that bound the winning key gets the same token',
      );
      assert.equal(won.length, sameKey.length, 'only racers with the winning key get a token');
      // The session releases to the winner's key only.
      const res = await first.resource('default/secret/race', 'cookie');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await decryptJwe(res.body, winner)).toString(), 'raced');
      const attests = (
        await http('GET', `${server.url}/api/v1/audit?kind=kbs.attest&limit=1000`, { headers: admin })
      ).json.filter((r: any) => r.subject === first.cookie);
      assert.equal(attests.length, 1, `session ${s}: ${attests.length} accepted attestations recorded`);
    }
  } finally {
    await server.stop();
    dir.remove();
  }
}

test(`racing attests on one session yield one token (${SESSIONS} sessions, 5 racers, SQLite)`, async () => {
  await raceAttests([]);
});

test(
  `racing attests on one session yield one token across the pool (${SESSIONS} sessions, 5 racers, PostgreSQL)`,
  { skip: pgAvailable() ? false : 'PostgreSQL is not installed' },
  async () => {
    const cluster = await startPgCluster();
    try {
      await raceAttests(['--db', cluster.url]);
    } finally {
      await cluster.stop();
    }
  },
);
