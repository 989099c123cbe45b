import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startCloak, runCloak, http, tempDir } from './harness.ts';
import { startPgCluster, pgAvailable } from '../../src/store/testing/pg-cluster.ts';
import { KbsClient, teeKey, bindingDigest, attestPayload, decryptJwe } from './kbs-client.ts';

test('kill -9 in the middle of a stream of admin writes loses no acknowledged write', async () => {
  const dir = tempDir('cloak-kill-');
  try {
    let server = await startCloak({ data: dir.path });
    const admin = { authorization: `Bearer ${server.token}` };
    const acked: string[] = [];
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await http('PUT', `${server.url}/api/v1/resources/default/stream/k${i}`, { body: { value: Buffer.from(`v${i}`).toString('base64') }, headers: admin });
          if (r.status === 204) acked.push(`default/stream/k${i}`);
        } catch { return; } // the server died mid-request: that write was never acknowledged
      }
    })();
    while (acked.length < 40) await new Promise((r) => setTimeout(r, 5));
    await server.stop('SIGKILL');
    stop = true;
    await writer;
    server = await startCloak({ data: dir.path });
    try {
      const list = await http('GET', `${server.url}/api/v1/resources`, { headers: admin });
      const present = new Set(list.json.map((r: any) => r.path));
      const lost = acked.filter((p) => !present.has(p));
      assert.deepEqual(lost, [], `acknowledged writes lost after kill -9 (${acked.length} acknowledged)`);
      const verify = await runCloak(['audit', 'verify', '--server', server.url, '--token', server.token]);
      assert.equal(verify.code, 0, verify.stderr);
    } finally { await server.stop(); }
  } finally { dir.remove(); }
});

test('cloak audit verify detects an edited and a removed record', async () => {
  const dir = tempDir('cloak-audit-');
  try {
    let server = await startCloak({ data: dir.path });
    for (let i = 0; i < 5; i++) await http('PUT', `${server.url}/api/v1/resources/default/a/k${i}`, { body: { value: 'AA==' }, headers: { authorization: `Bearer ${server.token}` } });
    const ok = await runCloak(['audit', 'verify', '--server', server.url, '--token', server.token, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).records, 5);
    await server.stop();

    const tamper = (sql: (db: Database.Database) => void) => {
      const db = new Database(join(dir.path, 'cloak.db'));
      db.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;');
      sql(db);
      db.close();
    };
    tamper((db) => {
      const row = db.prepare('SELECT record FROM audit WHERE seq = 3').get() as { record: string };
      const r = JSON.parse(row.record);
      r.subject = 'default/a/forged';
      db.prepare('UPDATE audit SET record = ? WHERE seq = 3').run(JSON.stringify(r));
    });
    server = await startCloak({ data: dir.path });
    let res = await runCloak(['audit', 'verify', '--server', server.url, '--token', server.token]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /BROKEN at record 3: .*edited/);
    await server.stop();

    tamper((db) => db.prepare('DELETE FROM audit WHERE seq = 2').run());
    server = await startCloak({ data: dir.path });
    res = await runCloak(['audit', 'verify', '--server', server.url, '--token', server.token]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /BROKEN at record 2/);
    await server.stop();

    // Removing records from the end keeps the chain consistent; the MAC'd head gives it away.
    tamper((db) => db.prepare('DELETE FROM audit WHERE seq >= 2').run());
    server = await startCloak({ data: dir.path });
    res = await runCloak(['audit', 'verify', '--server', server.url, '--token', server.token]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /records were removed from the end/);
    await server.stop();
    tamper((db) => db.prepare("UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit WHERE seq = 1)").run());
    server = await startCloak({ data: dir.path });
    res = await runCloak(['audit', 'verify', '--server', server.url, '--token', server.token]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /MAC \(tampered\)/);
    await server.stop();
  } finally { dir.remove(); }
});

test('two replicas on one PostgreSQL share sessions, tokens and sealed secrets', { skip: pgAvailable() ? false : 'PostgreSQL is not installed' }, async () => {
  const cluster = await startPgCluster();
  const dir = tempDir('cloak-replicas-');
  try {
    const a = await startCloak({ data: dir.path, args: ['--db', cluster.url] });
    const b = await startCloak({ data: dir.path, args: ['--db', cluster.url] });
    try {
      const admin = { authorization: `Bearer ${a.token}` };
      await http('PUT', `${a.url}/api/v1/policies/attestation`, { body: { text: 'version: 1\nallowInsecure: [sample]\ntrustVector:\n  hardware: "2"\n' }, headers: admin });
      await http('PUT', `${b.url}/api/v1/resources/default/secret/shared`, { body: { value: Buffer.from('replicated').toString('base64') }, headers: admin });
      const key = teeKey('EC');
      const onA = new KbsClient(a.url);
      const { nonce } = await onA.auth('sample');
      const onB = new KbsClient(b.url);
      onB.cookie = onA.cookie;
      const attest = await onB.attest(attestPayload(nonce!, key, { svn: '1', report_data: bindingDigest(nonce!, key.jwk).toString('base64') }));
      assert.equal(attest.status, 200, JSON.stringify(attest.body));
      const res = await onA.resource('default/secret/shared', 'cookie');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await decryptJwe(res.body, key)).toString(), 'replicated');
      const jwksA = await http('GET', `${a.url}/.well-known/jwks.json`);
      const jwksB = await http('GET', `${b.url}/.well-known/jwks.json`);
      assert.deepEqual(jwksA.json, jwksB.json, 'both replicas sign with one key');
      const verify = await runCloak(['audit', 'verify', '--server', b.url, '--token', b.token]);
      assert.equal(verify.code, 0, verify.stderr);
    } finally {
      await a.stop();
      await b.stop();
    }
  } finally {
    await cluster.stop();
    dir.remove();
  }
});
