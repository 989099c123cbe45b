import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { startCloak, runCloak, http, tempDir, type CloakServer } from './harness.ts';
import { startPgCluster, pgAvailable } from '../../src/store/testing/pg-cluster.ts';
import { KbsClient, teeKey, bindingDigest, attestPayload, decryptJwe } from './kbs-client.ts';

const noPg = pgAvailable() ? false : 'PostgreSQL is not installed';
const hashOf = (text: string) => createHash('sha256').update(text).digest('hex');

type Op = { op: 'set' | 'delete'; path: string } | { op: 'policy'; text: string };

interface Stream {
  acked: Op[];
  attempted: Op[];
}

/**
 * Four concurrent admin clients stream resource sets, deletes and policy sets until the server is killed with
 * SIGKILL after at least `killAfter` acknowledged writes; returns the acknowledged ones and all that were sent.
 */
async function streamUntilKilled(server: CloakServer, prefix: string, killAfter: number): Promise<Stream> {
  const admin = { authorization: `Bearer ${server.token}` };
  const acked: Op[] = [];
  const attempted: Op[] = [];
  let stop = false;
  const writer = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const path = (n: number) => `default/${prefix}/w${w}-${n}`;
      const op: Op =
        i % 5 === 3
          ? { op: 'delete', path: path(i - 1) }
          : i % 5 === 4
            ? { op: 'policy', text: `status == "affirming" || resource.tag == "${prefix}-${w}-${i}"` }
            : { op: 'set', path: path(i) };
      attempted.push(op);
      try {
        const r =
          op.op === 'policy'
            ? await http('PUT', `${server.url}/api/v1/policies/resource`, { body: { text: op.text }, headers: admin })
            : op.op === 'set'
              ? await http('PUT', `${server.url}/api/v1/resources/${op.path}`, {
                  body: { value: Buffer.from(op.path).toString('base64') },
                  headers: admin,
                })
              : await http('DELETE', `${server.url}/api/v1/resources/${op.path}`, { headers: admin });
        if (r.status === 204) acked.push(op);
      } catch {
        return;
      } // the server died mid-request: that write was never acknowledged
    }
  };
  let done = 0;
  const writers = [0, 1, 2, 3].map((w) =>
    writer(w).finally(() => {
      done++;
    }),
  );
  while (acked.length < killAfter && done < writers.length) await new Promise((r) => setTimeout(r, 2));
  assert.ok(acked.length >= killAfter, `the writers stopped after ${acked.length} acknowledged writes`);
  await server.stop('SIGKILL');
  stop = true;
  await Promise.all(writers);
  return { acked, attempted };
}

async function allAudit(server: CloakServer): Promise<any[]> {
  const out: any[] = [];
  for (let after = 0; ;) {
    const page = (
      await http('GET', `${server.url}/api/v1/audit?afterSeq=${after}&limit=1000`, {
        headers: { authorization: `Bearer ${server.token}` },
      })
    ).json;
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1].seq;
  }
}

/** After a restart: no acknowledged write lost, the audit log replays to exactly the state the server holds, the chain is intact. */
async function checkAfterKill(server: CloakServer, { acked, attempted }: Stream): Promise<void> {
  const admin = { authorization: `Bearer ${server.token}` };
  const streamed = (p: string) => p.startsWith('default/kill');
  const present = new Set<string>(
    (await http('GET', `${server.url}/api/v1/resources`, { headers: admin })).json
      .map((r: any) => r.path)
      .filter(streamed),
  );
  const deletes = (ops: Op[]) => new Set(ops.filter((o) => o.op === 'delete').map((o) => (o as { path: string }).path));
  const deleteSent = deletes(attempted); // a delete may have committed without its answer reaching the client
  const lost = acked.filter((o) => o.op === 'set' && !deleteSent.has(o.path) && !present.has(o.path));
  assert.deepEqual(lost, [], `acknowledged writes lost after kill -9 (${acked.length} acknowledged)`);
  assert.deepEqual(
    [...deletes(acked)].filter((p) => present.has(p)),
    [],
    'acknowledged deletes undone',
  );

  const audit = await allAudit(server);
  const replayed = new Set<string>();
  for (const r of audit.filter((r) => r.outcome === 'ok' && streamed(r.subject ?? ''))) {
    if (r.kind === 'admin.resource.set') replayed.add(r.subject);
    if (r.kind === 'admin.resource.delete') replayed.delete(r.subject);
  }
  assert.deepEqual(
    [...present].filter((p) => !replayed.has(p)).sort(),
    [],
    'resources stored without their admin.resource.set record',
  );
  assert.deepEqual(
    [...replayed].filter((p) => !present.has(p)).sort(),
    [],
    'resources deleted without their admin.resource.delete record',
  );
  const policy = (await http('GET', `${server.url}/api/v1/policies/resource`, { headers: admin })).json;
  const lastPolicySet = audit
    .filter((r) => r.kind === 'admin.policy.set' && r.outcome === 'ok' && r.subject === 'resource')
    .pop();
  if (!policy.default)
    assert.equal(
      lastPolicySet?.details?.sha256,
      hashOf(policy.text),
      'the policy in force is the one the last admin.policy.set record names',
    );
  const verify = await runCloak(['audit', 'verify', '--server', server.url, '--token', server.token]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stderr, /audit log intact/);
}

/** Kills the real `cloak serve` mid-stream three times, at varying points, restarting it on the same database each time. */
async function killLoop(db: () => Promise<{ args: string[]; stop(): Promise<void> }>): Promise<void> {
  const dir = tempDir('cloak-kill-');
  const database = await db();
  try {
    const all: Stream = { acked: [], attempted: [] };
    let server = await startCloak({ data: dir.path, args: database.args });
    try {
      for (let round = 0; round < 3; round++) {
        const { acked, attempted } = await streamUntilKilled(server, `kill${round}`, 30 + round * 15);
        all.acked.push(...acked);
        all.attempted.push(...attempted);
        server = await startCloak({ data: dir.path, args: database.args });
        await checkAfterKill(server, all);
      }
    } finally {
      await server.stop();
    }
  } finally {
    await database.stop();
    dir.remove();
  }
}

test('kill -9 during a stream of admin writes on SQLite: no acknowledged write lost, every change has its audit record, the chain is intact', async () => {
  await killLoop(async () => ({ args: [], stop: async () => {} }));
});

test(
  'kill -9 during a stream of admin writes on PostgreSQL: no acknowledged write lost, every change has its audit record, the chain is intact',
  { skip: noPg },
  async () => {
    await killLoop(async () => {
      const cluster = await startPgCluster();
      return { args: ['--db', cluster.url], stop: () => cluster.stop() };
    });
  },
);

test('cloak audit verify detects an edited and a removed record', async () => {
  const dir = tempDir('cloak-audit-');
  try {
    let server = await startCloak({ data: dir.path });
    for (let i = 0; i < 5; i++)
      await http('PUT', `${server.url}/api/v1/resources/default/a/k${i}`, {
        body: { value: 'AA==' },
        headers: { authorization: `Bearer ${server.token}` },
      });
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
    tamper((db) => db.prepare('UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit WHERE seq = 1)').run());
    server = await startCloak({ data: dir.path });
    res = await runCloak(['audit', 'verify', '--server', server.url, '--token', server.token]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /MAC \(tampered\)/);
    await server.stop();
  } finally {
    dir.remove();
  }
});

test(
  'two replicas on one PostgreSQL share sessions, tokens and sealed secrets',
  { skip: pgAvailable() ? false : 'PostgreSQL is not installed' },
  async () => {
    const cluster = await startPgCluster();
    const dir = tempDir('cloak-replicas-');
    try {
      const a = await startCloak({ data: dir.path, args: ['--db', cluster.url] });
      const b = await startCloak({ data: dir.path, args: ['--db', cluster.url] });
      try {
        const admin = { authorization: `Bearer ${a.token}` };
        await http('PUT', `${a.url}/api/v1/policies/attestation`, {
          body: { text: 'version: 1\nallowInsecure: [sample]\ntrustVector:\n  hardware: "2"\n' },
          headers: admin,
        });
        await http('PUT', `${b.url}/api/v1/resources/default/secret/shared`, {
          body: { value: Buffer.from('replicated').toString('base64') },
          headers: admin,
        });
        const key = teeKey('EC');
        const onA = new KbsClient(a.url);
        const { nonce } = await onA.auth('sample');
        const onB = new KbsClient(b.url);
        onB.cookie = onA.cookie;
        const attest = await onB.attest(
          attestPayload(nonce!, key, { svn: '1', report_data: bindingDigest(nonce!, key.jwk).toString('base64') }),
        );
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
  },
);
