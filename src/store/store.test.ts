import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCloakError } from '../lib/index.ts';
import { openStore, verifyAuditChain, loadOrCreateSealingKey, type Store } from './index.ts';
import { startPgCluster, pgAvailable } from './testing/pg-cluster.ts';

interface Backend { name: string; open(key: Buffer): Promise<Store>; rawBytes?(): Buffer; teardown(): Promise<void> }

async function sqliteBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-store-'));
  const path = join(dir, 'cloak.db');
  return {
    name: 'sqlite',
    open: (key) => openStore(`sqlite:${path}`, { sealingKey: key }),
    rawBytes: () => Buffer.concat([readFileSync(path), ...['-wal'].map((s) => { try { return readFileSync(path + s); } catch { return Buffer.alloc(0); } })]),
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresBackend(): Promise<Backend> {
  const cluster = await startPgCluster();
  return { name: 'postgres', open: (key) => openStore(cluster.url, { sealingKey: key }), teardown: () => cluster.stop() };
}

/** One suite, every backend: both implementations must behave the same. */
function storeSuite(makeBackend: () => Promise<Backend>, label: string, skip: string | false = false) {
  describe(`store: ${label}`, { skip }, () => {
    let backend: Backend;
    let store: Store;
    const key = randomBytes(32);
    before(async () => { backend = await makeBackend(); store = await backend.open(key); });
    after(async () => { await store?.close(); await backend?.teardown(); });

    test('resources are sealed, listed without values, deleted', async () => {
      const secret = Buffer.from(`very-secret-${randomBytes(8).toString('hex')}`);
      await store.putResource('default/secret/a', secret);
      await store.putResource('default/secret/b', Buffer.from('b'));
      await store.putResource('default/secret/b', Buffer.from('bb'));
      assert.deepEqual(await store.getResource('default/secret/a'), secret);
      assert.deepEqual((await store.listResources()).map((r) => [r.path, r.size]), [['default/secret/a', secret.length], ['default/secret/b', 2]]);
      assert.equal(await store.getResource('nope/x/y'), undefined);
      if (backend.rawBytes) assert.equal(backend.rawBytes().includes(secret), false, 'the database file holds no plaintext secret');
      assert.equal(await store.deleteResource('default/secret/b'), true);
      assert.equal(await store.deleteResource('default/secret/b'), false);
    });

    test('a wrong sealing key never yields garbage', async () => {
      const other = await backend.open(randomBytes(32));
      try {
        await assert.rejects(other.getResource('default/secret/a'), (e) => isCloakError(e, 'STORE_UNSEAL_FAILED'));
      } finally { await other.close(); }
    });

    test('policies, reference values and sealed meta', async () => {
      assert.equal(await store.getPolicy('resource'), undefined);
      await store.setPolicy('resource', 'true');
      await store.setPolicy('resource', 'false');
      assert.equal(await store.getPolicy('resource'), 'false');
      await store.putReferenceValue('img', { manifestDigest: 'sha256:aa', layers: ['x'] });
      assert.deepEqual(await store.getReferenceValue('img'), { manifestDigest: 'sha256:aa', layers: ['x'] });
      assert.deepEqual((await store.listReferenceValues()).map((r) => r.name), ['img']);
      assert.equal(await store.deleteReferenceValue('img'), true);
      await store.setSecretMeta('k', Buffer.from('first'));
      await store.setSecretMeta('k', Buffer.from('second'));
      assert.equal((await store.getSecretMeta('k'))!.toString(), 'first', 'first writer wins');
    });

    test('sessions: create, update, sweep expired', async () => {
      const now = new Date('2026-01-01T00:00:00Z');
      await store.createSession({ id: 's1', tee: 'sim', nonce: 'n', createdAt: now, expiresAt: new Date(now.getTime() + 1000), attested: false });
      await store.createSession({ id: 's2', tee: 'sim', nonce: 'n', createdAt: now, expiresAt: new Date(now.getTime() + 10_000), attested: false });
      await store.updateSession('s1', { attested: true, token: 't', teePubkey: { kty: 'EC' } });
      const s1 = await store.getSession('s1');
      assert.equal(s1?.attested, true);
      assert.equal(s1?.token, 't');
      assert.ok(s1?.expiresAt instanceof Date);
      assert.equal(await store.sweepSessions(new Date(now.getTime() + 5000)), 1);
      assert.equal(await store.getSession('s1'), undefined);
      assert.ok(await store.getSession('s2'));
      await store.deleteSession('s2');
      assert.equal(await store.getSession('s2'), undefined);
    });

    test('manifests: versions are unique, latest and history', async () => {
      assert.equal(await store.getManifest(), undefined);
      await store.putManifest({ version: 1, digest: 'sha256:1', text: 'a', signatures: [{ user: 'x' }] });
      await store.putManifest({ version: 2, digest: 'sha256:2', text: 'b', signatures: [] });
      await assert.rejects(store.putManifest({ version: 2, digest: 'sha256:x', text: 'c', signatures: [] }), (e) => isCloakError(e, 'STORE_CONFLICT'));
      assert.equal((await store.getManifest())?.digest, 'sha256:2');
      assert.deepEqual((await store.getManifest(1))?.signatures, [{ user: 'x' }]);
      assert.deepEqual((await store.listManifests()).map((m) => m.version), [1, 2]);
    });

    test('audit: hash chain, queries, concurrent appends from two handles stay one chain', async () => {
      const second = await backend.open(key);
      try {
        await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? store : second).appendAudit({ kind: i % 3 ? 'kbs.attest' : 'admin.x', outcome: i % 5 ? 'ok' : 'refused', subject: `s${i}`, details: { i } })));
      } finally { await second.close(); }
      const all = await store.queryAudit({ limit: 1000 });
      assert.equal(all.length, 40);
      assert.deepEqual(verifyAuditChain(all), { ok: true });
      assert.ok((await store.queryAudit({ kind: 'admin.x' })).every((r) => r.kind === 'admin.x'));
      assert.ok((await store.queryAudit({ outcome: 'refused' })).every((r) => r.outcome === 'refused'));
      assert.deepEqual((await store.queryAudit({ afterSeq: 38 })).map((r) => r.seq), [39, 40]);
      const edited = all.map((r) => (r.seq === 10 ? { ...r, reason: 'forged' } : r));
      assert.deepEqual(verifyAuditChain(edited), { ok: false, seq: 10, reason: 'its content does not match its hash (edited)' });
      assert.equal(verifyAuditChain(all.filter((r) => r.seq !== 7)).ok, false);
      assert.equal(verifyAuditChain([all[1]!, all[0]!, ...all.slice(2)]).ok, false);
    });
  });
}

storeSuite(sqliteBackend, 'SQLite');
storeSuite(postgresBackend, 'PostgreSQL', pgAvailable() ? false : 'PostgreSQL is not installed');

test('sealing key file: created 0600, reused, wrong length refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-key-'));
  try {
    const path = join(dir, 'sub', 'sealing.key');
    const k = loadOrCreateSealingKey(path);
    assert.equal(k.length, 32);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(loadOrCreateSealingKey(path), k);
    writeFileSync(path, 'short');
    assert.throws(() => loadOrCreateSealingKey(path), (e) => isCloakError(e, 'STORE_SEALING_KEY_INVALID'));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
