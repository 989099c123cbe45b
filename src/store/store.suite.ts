/**
 * The one behaviour suite every Store implementation must pass. A backend
 * gives the suite a way to open stores on one database, to run raw SQL
 * against it (to inspect and to tamper, as an attacker with the database
 * but without the sealing key would), and the raw bytes it keeps on disk.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { canonicalJson, isCloakError } from '../lib/index.ts';
import {
  GENESIS_HASH,
  SCHEMA_VERSION,
  verifyAuditChain,
  MAX_COUNT_KEYS_PER_HOUR,
  OVERFLOW_SOURCE,
  type SessionRecord,
  type Store,
} from './index.ts';

export interface StoreBackend {
  /** The URL openStore takes, e.g. sqlite:/tmp/x/cloak.db or postgres://…. */
  url: string;
  open(key: Buffer): Promise<Store>;
  /** Raw SQL with `?` placeholders, outside the Store (no sealing key involved). */
  sql(text: string, args?: unknown[]): Promise<Record<string, any>[]>;
  /** Every byte the database keeps on disk (after a checkpoint where that matters). */
  rawBytes(): Promise<Buffer>;
  teardown(): Promise<void>;
}

const isCode = (code: string) => (e: unknown) => isCloakError(e, code);

/** An unattested session created at `now` that expires `ttlMs` later (a minute unless given; tee sim, nonce "n"). */
function freshSession(
  id: string,
  now: Date,
  { ttlMs = 60_000, tee = 'sim', nonce = 'n' }: { ttlMs?: number; tee?: string; nonce?: string } = {},
): SessionRecord {
  return { id, tee, nonce, createdAt: now, expiresAt: new Date(now.getTime() + ttlMs), attested: false };
}
const WRITER = fileURLToPath(new URL('./testing/write-stream.ts', import.meta.url));

export function storeSuite(
  label: string,
  makeBackend: () => Promise<StoreBackend>,
  skip: string | false = false,
): void {
  describe(`store: ${label}`, { skip }, () => {
    let backend: StoreBackend;
    let store: Store;
    const key = randomBytes(32);
    before(async () => {
      backend = await makeBackend();
      store = await backend.open(key);
    });
    after(async () => {
      await store?.close();
      await backend?.teardown();
    });

    test('resources: put, overwrite, get, list without values, delete', async () => {
      const secret = Buffer.from(`very-secret-${randomBytes(8).toString('hex')}`);
      await store.putResource('default/secret/a', secret);
      await store.putResource('default/secret/b', Buffer.from('b'));
      await store.putResource('default/secret/b', Buffer.from('bb'));
      await store.putResource('default/secret/empty', Buffer.alloc(0));
      assert.deepEqual(await store.getResource('default/secret/a'), secret);
      assert.deepEqual(await store.getResource('default/secret/empty'), Buffer.alloc(0));
      const list = await store.listResources();
      assert.deepEqual(
        list.map((r) => [r.path, r.size]),
        [
          ['default/secret/a', secret.length],
          ['default/secret/b', 2],
          ['default/secret/empty', 0],
        ],
      );
      for (const r of list) {
        assert.deepEqual(Object.keys(r).sort(), ['path', 'size', 'updatedAt'], 'a listing never carries values');
        assert.ok(Number.isFinite(Date.parse(r.updatedAt)));
      }
      assert.equal(await store.getResource('nope/x/y'), undefined);
      assert.equal(await store.deleteResource('default/secret/b'), true);
      assert.equal(await store.deleteResource('default/secret/b'), false);
      assert.equal(await store.getResource('default/secret/b'), undefined);
      await store.deleteResource('default/secret/empty');
    });

    test('the database alone reveals no secret: resources, server secrets and session tokens are sealed', async () => {
      const marker = () => Buffer.from(`plaintext-marker-${randomBytes(12).toString('hex')}`);
      const resource = marker();
      const meta = marker();
      const token = marker();
      await store.putResource('default/secret/raw', resource);
      await store.setSecretMeta('raw-test-key', meta);
      const now = new Date();
      await store.createSession(freshSession('raw-session', now));
      await store.updateSession('raw-session', { attested: true, token: token.toString() });
      // Sanity: the markers really are readable through the store...
      assert.deepEqual(await store.getResource('default/secret/raw'), resource);
      assert.equal((await store.getSession('raw-session'))?.token, token.toString());
      // ...and nowhere in the bytes the database keeps.
      const raw = await backend.rawBytes();
      assert.ok(raw.length > 0);
      for (const m of [resource, meta, token])
        assert.equal(raw.includes(m), false, `plaintext ${m} found in the database files`);
      const control = Buffer.from('default/secret/raw');
      assert.equal(raw.includes(control), true, 'control: the grep does see what is stored in clear (the path)');
      await store.deleteSession('raw-session');
    });

    test('a wrong sealing key throws STORE_UNSEAL_FAILED, never garbage', async () => {
      await store.putResource('default/secret/k', Buffer.from('v'));
      await store.setSecretMeta('wrong-key-test', Buffer.from('m'));
      const now = new Date();
      await store.createSession(freshSession('wrong-key-session', now));
      const other = await backend.open(randomBytes(32));
      try {
        await assert.rejects(other.getResource('default/secret/k'), isCode('STORE_UNSEAL_FAILED'));
        await assert.rejects(other.getSecretMeta('wrong-key-test'), isCode('STORE_UNSEAL_FAILED'));
        await assert.rejects(other.getSession('wrong-key-session'), isCode('STORE_UNSEAL_FAILED'));
        assert.ok((await other.listResources()).length > 0, 'what is not secret stays readable');
      } finally {
        await other.close();
      }
      await store.deleteSession('wrong-key-session');
    });

    test('a sealed value moved to another row, or altered, does not open (AAD = kind + name)', async () => {
      await store.putResource('default/secret/from', Buffer.from('moved secret'));
      await store.putResource('default/secret/to', Buffer.from('original'));
      const [from] = await backend.sql('SELECT sealed FROM resources WHERE path = ?', ['default/secret/from']);
      await backend.sql('UPDATE resources SET sealed = ? WHERE path = ?', [from!.sealed, 'default/secret/to']);
      await assert.rejects(store.getResource('default/secret/to'), isCode('STORE_UNSEAL_FAILED'));
      // Same name, other kind: a resource's ciphertext is no server secret.
      await backend.sql('INSERT INTO secret_meta (key, sealed) VALUES (?, ?)', ['default/secret/from', from!.sealed]);
      await assert.rejects(store.getSecretMeta('default/secret/from'), isCode('STORE_UNSEAL_FAILED'));
      for (const mutate of [
        (b: Buffer) => {
          b[b.length - 1]! ^= 1;
        },
        (b: Buffer) => {
          b[5]! ^= 0x80;
        },
        (b: Buffer) => {
          b[0] = 9;
        },
      ]) {
        const b = Buffer.from(from!.sealed);
        mutate(b);
        await backend.sql('UPDATE resources SET sealed = ? WHERE path = ?', [b, 'default/secret/to']);
        await assert.rejects(store.getResource('default/secret/to'), isCode('STORE_UNSEAL_FAILED'));
      }
      await backend.sql('UPDATE resources SET sealed = ? WHERE path = ?', [Buffer.alloc(3), 'default/secret/to']);
      await assert.rejects(store.getResource('default/secret/to'), isCode('STORE_UNSEAL_FAILED'));
      assert.deepEqual(await store.getResource('default/secret/from'), Buffer.from('moved secret'));
    });

    test('policies, reference values and server secrets', async () => {
      assert.equal(await store.getPolicy('resource'), undefined);
      await store.setPolicy('resource', 'true');
      await store.setPolicy('resource', 'false');
      await store.setPolicy('attestation', 'claims.tee == "sim"');
      assert.equal(await store.getPolicy('resource'), 'false');
      assert.equal(await store.getPolicy('attestation'), 'claims.tee == "sim"');
      await store.putReferenceValue('img', { manifestDigest: 'sha256:aa', layers: ['x'] });
      await store.putReferenceValue('list', ['a', 'b']);
      await store.putReferenceValue('list', ['c']);
      assert.deepEqual(await store.getReferenceValue('img'), { manifestDigest: 'sha256:aa', layers: ['x'] });
      assert.deepEqual(await store.listReferenceValues(), [
        { name: 'img', value: { manifestDigest: 'sha256:aa', layers: ['x'] } },
        { name: 'list', value: ['c'] },
      ]);
      assert.equal(await store.getReferenceValue('missing'), undefined);
      assert.equal(await store.deleteReferenceValue('img'), true);
      assert.equal(await store.deleteReferenceValue('img'), false);
      assert.equal(await store.getSecretMeta('k'), undefined);
      await store.setSecretMeta('k', Buffer.from('first'));
      await store.setSecretMeta('k', Buffer.from('second'));
      assert.equal(
        (await store.getSecretMeta('k'))!.toString(),
        'first',
        'first writer wins (replicas racing agree on one key)',
      );
    });

    test('sessions: create, read back, update, conflict, sweep expired', async () => {
      const now = new Date('2026-01-01T00:00:00Z');
      await store.createSession(freshSession('s1', now, { ttlMs: 1000, nonce: 'n1' }));
      await store.createSession(freshSession('s2', now, { ttlMs: 10_000, tee: 'sample', nonce: 'n2' }));
      await assert.rejects(
        store.createSession({ id: 's1', tee: 'sim', nonce: 'x', createdAt: now, expiresAt: now, attested: false }),
        isCode('STORE_CONFLICT'),
      );
      await store.updateSession('s1', {
        attested: true,
        token: 't',
        teePubkey: { kty: 'EC', crv: 'P-256' },
        claims: { a: [1, 2] },
      });
      const s1 = await store.getSession('s1');
      assert.deepEqual(s1, {
        id: 's1',
        tee: 'sim',
        nonce: 'n1',
        createdAt: now,
        expiresAt: new Date(now.getTime() + 1000),
        attested: true,
        token: 't',
        teePubkey: { kty: 'EC', crv: 'P-256' },
        claims: { a: [1, 2] },
      });
      await store.updateSession('s1', { id: 'hijack' } as never);
      assert.equal((await store.getSession('s1'))?.id, 's1', 'a patch never changes the id');
      await store.updateSession('missing', { attested: true });
      assert.equal(await store.getSession('missing'), undefined);
      // An expired session is still returned (the caller checks expiry) until swept.
      assert.ok(await store.getSession('s1'));
      // Extending expiry through updateSession moves the sweep horizon too.
      await store.updateSession('s2', { expiresAt: new Date(now.getTime() + 20_000) });
      assert.equal(await store.sweepSessions(new Date(now.getTime() + 15_000)), 1);
      assert.equal(await store.getSession('s1'), undefined);
      assert.ok(await store.getSession('s2'));
      assert.equal(await store.sweepSessions(new Date(now.getTime() + 15_000)), 0);
      await store.deleteSession('s2');
      await store.deleteSession('s2');
      assert.equal(await store.getSession('s2'), undefined);
      await assert.rejects(
        store.createSession({
          id: 'bad',
          tee: 'sim',
          nonce: 'n',
          createdAt: now,
          expiresAt: new Date(NaN),
          attested: false,
        }),
        isCode('STORE_SESSION_INVALID'),
      );
    });

    test('manifests: versions are unique, latest and history', async () => {
      assert.equal(await store.getManifest(), undefined);
      await store.putManifest({ version: 1, digest: 'sha256:1', text: 'a', signatures: [{ user: 'x' }] });
      await store.putManifest({ version: 2, digest: 'sha256:2', text: 'b', signatures: [] });
      await assert.rejects(
        store.putManifest({ version: 2, digest: 'sha256:x', text: 'c', signatures: [] }),
        isCode('STORE_CONFLICT'),
      );
      assert.equal((await store.getManifest())?.digest, 'sha256:2');
      assert.deepEqual((await store.getManifest(1))?.signatures, [{ user: 'x' }]);
      assert.equal(await store.getManifest(7), undefined);
      assert.deepEqual(
        (await store.listManifests()).map((m) => m.version),
        [1, 2],
      );
    });

    test('sessions are shared between two store instances (replicas)', async () => {
      const replica = await backend.open(key);
      try {
        const now = new Date();
        await store.createSession(freshSession('shared', now));
        await replica.updateSession('shared', { attested: true, token: 'from-replica' });
        assert.equal((await store.getSession('shared'))?.token, 'from-replica');
        await replica.deleteSession('shared');
        assert.equal(await store.getSession('shared'), undefined);
      } finally {
        await replica.close();
      }
    });

    test('audit: first record, hash as specified, only interface fields kept, details as JSON', async () => {
      const t = new Date('2026-02-03T04:05:06.789Z');
      const first = await store.appendAudit(
        {
          kind: 'kbs.auth',
          outcome: 'ok',
          actor: 'tee',
          subject: 'sess',
          details: { when: new Date(0), n: 1, nested: { u: undefined, v: [1] } },
        },
        t,
      );
      assert.equal(first.seq, 1);
      assert.equal(first.prevHash, GENESIS_HASH);
      assert.equal(first.time, '2026-02-03T04:05:06.789Z');
      assert.deepEqual(first.details, { when: '1970-01-01T00:00:00.000Z', n: 1, nested: { v: [1] } });
      const { hash, ...body } = first;
      assert.equal(
        hash,
        createHash('sha256').update(canonicalJson(body)).digest('hex'),
        'hash = sha256 hex of canonicalJson({seq,time,prevHash,...entry})',
      );
      const second = await store.appendAudit(
        { kind: 'kbs.attest', outcome: 'refused', reason: 'nonce mismatch', extra: 'dropped' } as never,
        t,
      );
      assert.equal(second.prevHash, first.hash);
      assert.equal('extra' in second, false, 'fields outside the interface are neither stored unhashed nor returned');
      const back = await store.queryAudit({});
      assert.deepEqual(back, [first, second], 'what is returned is what was hashed');
      assert.deepEqual(
        verifyAuditChain(JSON.parse(JSON.stringify(back))),
        { ok: true },
        'the chain survives a JSON round trip (the admin API)',
      );
      await assert.rejects(store.appendAudit({ kind: '', outcome: 'ok' }), isCode('STORE_AUDIT_INVALID'));
      await assert.rejects(store.appendAudit({ kind: 'x', outcome: 'maybe' as never }), isCode('STORE_AUDIT_INVALID'));
      assert.equal((await store.queryAudit({})).length, 2, 'a refused append leaves no record');
    });

    test('audit: concurrent appends from two store instances stay one chain; queries filter and page', async () => {
      const before = (await store.queryAudit({ limit: 10_000 })).length;
      const second = await backend.open(key);
      const base = new Date('2026-03-01T00:00:00Z').getTime();
      try {
        await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            (i % 2 ? store : second).appendAudit(
              {
                kind: i % 3 ? 'kbs.attest' : 'admin.x',
                outcome: i % 5 ? 'ok' : 'refused',
                subject: `s${i}`,
                details: { i },
              },
              new Date(base + i * 1000),
            ),
          ),
        );
      } finally {
        await second.close();
      }
      const all = await store.queryAudit({ limit: 1000 });
      assert.equal(all.length, before + 60);
      assert.deepEqual(
        all.map((r) => r.seq),
        all.map((_, i) => i + 1),
      );
      assert.deepEqual(verifyAuditChain(all), { ok: true });
      const admin = await store.queryAudit({ kind: 'admin.x', limit: 1000 });
      assert.equal(admin.length, 20);
      assert.ok(admin.every((r) => r.kind === 'admin.x'));
      assert.equal(
        (await store.queryAudit({ outcome: 'refused', kind: 'kbs.attest', limit: 1000 })).filter((r) =>
          r.subject?.startsWith('s'),
        ).length,
        8,
      );
      const last = all[all.length - 1]!.seq;
      assert.deepEqual(
        (await store.queryAudit({ afterSeq: last - 2 })).map((r) => r.seq),
        [last - 1, last],
      );
      assert.equal((await store.queryAudit({ limit: 5 })).length, 5);
      assert.equal((await store.queryAudit({})).length, Math.min(100, all.length), 'default page is 100');
      const since = await store.queryAudit({ since: new Date(base + 50_000), limit: 1000 });
      assert.equal(since.length, 10);
      const page = await store.queryAudit({ afterSeq: 10, limit: 10 });
      assert.deepEqual(
        verifyAuditChain(page, { after: { seq: 10, hash: all[9]!.hash } }),
        { ok: true },
        'a later page verifies against the last verified record',
      );
      await assert.rejects(store.queryAudit({ since: new Date(NaN) }), isCode('STORE_QUERY_INVALID'));
    });

    test('audit is append-only in the database itself', async () => {
      await store.appendAudit({ kind: 'x', outcome: 'ok' });
      await assert.rejects(backend.sql('UPDATE audit SET kind = ? WHERE seq = 1', ['forged']), /append-only/);
      await assert.rejects(backend.sql('DELETE FROM audit WHERE seq = 1'), /append-only/);
      assert.equal((await store.queryAudit({ limit: 1 }))[0]!.kind, 'kbs.auth');
    });

    test('migrations: versioned, applied once, reopening is idempotent and keeps data', async () => {
      await store.putResource('default/keep/me', Buffer.from('kept'));
      for (let i = 0; i < 2; i++) {
        const again = await backend.open(key);
        assert.deepEqual(await again.getResource('default/keep/me'), Buffer.from('kept'));
        await again.close();
      }
      const versions = (await backend.sql('SELECT version FROM schema_version ORDER BY version')).map((r) =>
        Number(r.version),
      );
      assert.deepEqual(
        versions,
        Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
      );
    });

    test('kill -9 of a writing process loses no acknowledged write', async () => {
      const acked = await runWriterAndKill(backend.url, key, 150);
      const resources = new Set(
        (await store.listResources()).map((r) => r.path).filter((p) => p.startsWith('default/stream/')),
      );
      const lost = Array.from({ length: acked }, (_, i) => `default/stream/k${i}`).filter((p) => !resources.has(p));
      assert.deepEqual(lost, [], `acknowledged writes lost (${acked} acknowledged)`);
      const audited = new Set(
        (await store.queryAudit({ kind: 'admin.resource.set', limit: 10_000 })).map((r) => r.subject),
      );
      assert.deepEqual(
        [...resources].filter((p) => !audited.has(p)),
        [],
        'every stored resource has its audit record',
      );
      assert.deepEqual(
        [...audited].filter((p) => p?.startsWith('default/stream/') && !resources.has(p)),
        [],
        'and every record its resource',
      );
      for (const i of [0, acked - 1])
        assert.deepEqual(await store.getResource(`default/stream/k${i}`), Buffer.from(`value-${i}`));
      assert.deepEqual(verifyAuditChain(await store.queryAudit({ limit: 10_000 })), { ok: true });
    });

    test('every mutation commits with its audit record, or neither commits', async () => {
      const bad = { kind: '', outcome: 'ok' } as const; // refused by the audit append, after the change ran in the transaction
      const kinds = async () =>
        (await store.queryAudit({ limit: 10_000 }))
          .filter((r) => r.kind.startsWith('tx.'))
          .map((r) => `${r.kind} ${r.subject}`);
      const before = await kinds();
      const audit = (kind: string, subject: string) => ({ kind, outcome: 'ok' as const, actor: 'admin', subject });

      await store.putResource('default/tx/a', Buffer.from('a'), audit('tx.resource.set', 'default/tx/a'));
      await assert.rejects(store.putResource('default/tx/b', Buffer.from('b'), bad), isCode('STORE_AUDIT_INVALID'));
      assert.equal(
        await store.getResource('default/tx/b'),
        undefined,
        'a resource whose audit record failed is not stored',
      );
      await assert.rejects(
        store.putResource('default/tx/a', Buffer.from('changed'), bad),
        isCode('STORE_AUDIT_INVALID'),
      );
      assert.deepEqual(await store.getResource('default/tx/a'), Buffer.from('a'), 'nor overwritten');

      await assert.rejects(store.deleteResource('default/tx/a', bad), isCode('STORE_AUDIT_INVALID'));
      assert.deepEqual(await store.getResource('default/tx/a'), Buffer.from('a'), 'nor deleted');
      assert.equal(await store.deleteResource('default/tx/a', audit('tx.resource.delete', 'default/tx/a')), true);
      assert.equal(
        await store.deleteResource('default/tx/a', audit('tx.resource.delete', 'again')),
        false,
        'deleting nothing writes no record',
      );

      await store.setPolicy('tx-policy', 'one', audit('tx.policy.set', 'tx-policy'));
      await assert.rejects(store.setPolicy('tx-policy', 'two', bad), isCode('STORE_AUDIT_INVALID'));
      assert.equal(await store.getPolicy('tx-policy'), 'one');

      await store.putReferenceValue('tx-ref', { v: 1 }, audit('tx.refvalue.set', 'tx-ref'));
      await assert.rejects(store.putReferenceValue('tx-ref', { v: 2 }, bad), isCode('STORE_AUDIT_INVALID'));
      assert.deepEqual(await store.getReferenceValue('tx-ref'), { v: 1 });
      await assert.rejects(store.deleteReferenceValue('tx-ref', bad), isCode('STORE_AUDIT_INVALID'));
      assert.equal(await store.deleteReferenceValue('tx-ref', audit('tx.refvalue.delete', 'tx-ref')), true);

      const latest = (await store.getManifest())?.version ?? 0;
      const generated = [{ path: 'default/tx/generated', value: Buffer.from('g1') }];
      await assert.rejects(
        store.putManifest(
          { version: latest + 1, digest: 'sha256:tx', text: 't', signatures: [] },
          { generated, audit: bad },
        ),
        isCode('STORE_AUDIT_INVALID'),
      );
      assert.equal(
        (await store.getManifest())?.version ?? 0,
        latest,
        'a manifest whose audit record failed is not stored',
      );
      assert.equal(await store.getResource('default/tx/generated'), undefined, 'nor the secrets it generated');
      await store.putResource('default/tx/kept', Buffer.from('set by hand'));
      await store.putManifest(
        { version: latest + 1, digest: 'sha256:tx', text: 't', signatures: [] },
        {
          generated: [...generated, { path: 'default/tx/kept', value: Buffer.from('generated') }],
          audit: audit('tx.manifest.set', `v${latest + 1}`),
        },
      );
      assert.deepEqual(await store.getResource('default/tx/generated'), Buffer.from('g1'));
      assert.deepEqual(
        await store.getResource('default/tx/kept'),
        Buffer.from('set by hand'),
        'a generated secret never overwrites one that exists',
      );
      await assert.rejects(
        store.putManifest(
          { version: latest + 1, digest: 'sha256:again', text: 't', signatures: [] },
          { audit: audit('tx.manifest.set', 'conflict') },
        ),
        isCode('STORE_CONFLICT'),
      );

      assert.deepEqual((await kinds()).slice(before.length), [
        'tx.resource.set default/tx/a',
        'tx.resource.delete default/tx/a',
        'tx.policy.set tx-policy',
        'tx.refvalue.set tx-ref',
        'tx.refvalue.delete tx-ref',
        `tx.manifest.set v${latest + 1}`,
      ]);
      assert.deepEqual(verifyAuditChain(await store.queryAudit({ limit: 10_000 })), { ok: true });
    });

    test('attestSession: of racing attests on one session (from two replicas) exactly one wins, with its audit record', async () => {
      const replica = await backend.open(key);
      const auditsBefore = (await store.queryAudit({ kind: 'race.attest', limit: 10_000 })).length;
      try {
        const now = new Date();
        for (let i = 0; i < 20; i++) {
          const id = `race-${i}`;
          await store.createSession(freshSession(id, now));
          const outcomes = await Promise.all(
            Array.from({ length: 4 }, (_, k) =>
              (k % 2 ? replica : store).attestSession(
                id,
                { token: `token-${k}`, teePubkey: { k } },
                { kind: 'race.attest', outcome: 'ok', subject: id },
              ),
            ),
          );
          const winners = outcomes.filter((o) => o.won);
          assert.equal(winners.length, 1, `session ${id}: ${winners.length} winners`);
          const token = winners[0]!.session!.token;
          for (const o of outcomes) assert.equal(o.session?.token, token, "every loser sees the winner's token");
          const stored = await store.getSession(id);
          assert.equal(stored?.attested, true);
          assert.equal(stored?.token, token);
          assert.deepEqual(stored?.teePubkey, winners[0]!.session!.teePubkey);
        }
        assert.deepEqual(
          await store.attestSession('no-such-session', { token: 't' }, { kind: 'race.attest', outcome: 'ok' }),
          { won: false, session: undefined },
        );
      } finally {
        await replica.close();
      }
      assert.equal(
        (await store.queryAudit({ kind: 'race.attest', limit: 10_000 })).length,
        auditsBefore + 20,
        'one audit record per session: only the winner writes one',
      );
      // The winner's audit record commits with the session or not at all.
      const now = new Date();
      await store.createSession(freshSession('race-bad-audit', now));
      await assert.rejects(
        store.attestSession('race-bad-audit', { token: 't' }, { kind: '', outcome: 'ok' }),
        isCode('STORE_AUDIT_INVALID'),
      );
      assert.equal((await store.getSession('race-bad-audit'))?.attested, false);
      for (let i = 0; i < 20; i++) await store.deleteSession(`race-${i}`);
    });

    test('abandonSession deletes a session that has not attested, never one that has', async () => {
      const now = new Date();
      const session = (id: string) => ({
        id,
        tee: 'sim',
        nonce: 'n',
        createdAt: now,
        expiresAt: new Date(now.getTime() + 60_000),
        attested: false,
      });
      await store.createSession(session('fresh'));
      await store.createSession(session('done'));
      assert.equal(
        (await store.attestSession('done', { token: 't' }, { kind: 'abandon.attest', outcome: 'ok' })).won,
        true,
      );
      assert.equal(await store.abandonSession('fresh'), true);
      assert.equal(await store.getSession('fresh'), undefined);
      assert.equal(await store.abandonSession('done'), false);
      assert.equal((await store.getSession('done'))?.token, 't');
      assert.equal(await store.abandonSession('missing'), false);
      await store.deleteSession('done');
    });

    test('audit counts: a flood is one counted row per hour, source, kind, outcome and code; bounded; pruned; outside the chain', async () => {
      const chainBefore = (await store.queryAudit({ limit: 10_000 })).length;
      const hour = new Date('2026-05-01T10:00:00Z').getTime();
      const at = (min: number) => new Date(hour + min * 60_000);
      const refusal = (source: string, code = 'KBS_UNAUTHENTICATED') => ({
        kind: 'kbs.release',
        outcome: 'refused' as const,
        source,
        code,
        sample: `${code}: no credentials`,
      });
      const second = await backend.open(key);
      try {
        await Promise.all(
          Array.from({ length: 400 }, (_, i) => (i % 2 ? store : second).countAudit(refusal('10.0.0.1'), at(i % 60))),
        );
      } finally {
        await second.close();
      }
      await store.countAudit(refusal('10.0.0.1', 'KBS_TOKEN_INVALID'), at(5));
      await store.countAudit({ kind: 'kbs.auth', outcome: 'ok', source: '10.0.0.1', code: 'OK' }, at(6));
      await store.countAudit(refusal('10.0.0.1'), at(61)); // the next hour
      const rows = await store.queryAuditCounts({ since: at(0), source: '10.0.0.1' });
      assert.deepEqual(
        rows.map((r) => [r.hour, r.kind, r.outcome, r.code, r.count]),
        [
          ['2026-05-01T11:00:00.000Z', 'kbs.release', 'refused', 'KBS_UNAUTHENTICATED', 1],
          ['2026-05-01T10:00:00.000Z', 'kbs.release', 'refused', 'KBS_UNAUTHENTICATED', 400],
          ['2026-05-01T10:00:00.000Z', 'kbs.auth', 'ok', 'OK', 1],
          ['2026-05-01T10:00:00.000Z', 'kbs.release', 'refused', 'KBS_TOKEN_INVALID', 1],
        ],
      );
      const flood = rows[1]!;
      assert.equal(flood.firstTime, at(0).toISOString());
      assert.equal(flood.lastTime, at(59).toISOString());
      assert.equal(flood.sample, 'KBS_UNAUTHENTICATED: no credentials');
      assert.deepEqual(
        (await store.queryAuditCounts({ kind: 'kbs.auth' })).map((r) => r.count),
        [1],
      );
      assert.deepEqual(
        (await store.queryAuditCounts({ outcome: 'refused', source: '10.0.0.1', limit: 1 })).map((r) => r.hour),
        ['2026-05-01T11:00:00.000Z'],
      );

      // Many sources: an hour holds a bounded number of keys; the rest are still counted, under "*".
      const h2 = new Date('2026-05-02T10:00:00Z');
      for (let i = 0; i < MAX_COUNT_KEYS_PER_HOUR + 50; i++) await store.countAudit(refusal(`192.0.2.${i}`), h2);
      const many = await store.queryAuditCounts({ since: h2, limit: 10_000 });
      assert.equal(many.length, MAX_COUNT_KEYS_PER_HOUR + 1);
      assert.equal(many.find((r) => r.source === OVERFLOW_SOURCE)?.count, 50);
      assert.equal(
        many.reduce((n, r) => n + r.count, 0),
        MAX_COUNT_KEYS_PER_HOUR + 50,
        'nothing goes uncounted',
      );
      await store.countAudit(refusal('192.0.2.0'), h2);
      assert.equal(
        (await store.queryAuditCounts({ since: h2, source: '192.0.2.0' }))[0]!.count,
        2,
        'a source already counted keeps its own row',
      );

      assert.equal(
        (await store.queryAudit({ limit: 10_000 })).length,
        chainBefore,
        'counting writes nothing to the hash chain',
      );
      // Pruning: hours that ended before the horizon go, the rest stay.
      assert.equal(await store.pruneAuditCounts(at(60)), 3, 'the 10:00 hour ended at 11:00');
      assert.deepEqual(
        (await store.queryAuditCounts({ source: '10.0.0.1' })).map((r) => r.hour),
        ['2026-05-01T11:00:00.000Z'],
      );
      assert.equal(await store.pruneAuditCounts(new Date('2026-05-02T10:59:59Z')), 1, 'an hour still running is kept');
      assert.equal(await store.pruneAuditCounts(new Date('2026-05-03T00:00:00Z')), MAX_COUNT_KEYS_PER_HOUR + 1);
      assert.deepEqual(await store.queryAuditCounts({}), []);
      await assert.rejects(
        store.countAudit({ kind: 'kbs.release', outcome: 'refused', source: 'x', code: '' }),
        isCode('STORE_AUDIT_INVALID'),
      );
      await assert.rejects(
        store.countAudit({ kind: 'kbs.release', outcome: 'maybe' as never, source: 'x', code: 'C' }),
        isCode('STORE_AUDIT_INVALID'),
      );
      await assert.rejects(store.queryAuditCounts({ since: new Date(NaN) }), isCode('STORE_QUERY_INVALID'));
      await assert.rejects(store.pruneAuditCounts(new Date(NaN)), isCode('STORE_QUERY_INVALID'));
    });

    test('a closed store throws STORE_CLOSED', async () => {
      const s = await backend.open(key);
      await s.close();
      await s.close();
      await assert.rejects(s.getPolicy('resource'), isCode('STORE_CLOSED'));
      await assert.rejects(s.appendAudit({ kind: 'x', outcome: 'ok' }), isCode('STORE_CLOSED'));
    });
  });
}

/** Starts the writer child, lets it acknowledge `atLeast` writes, kills it with SIGKILL; returns how many were acknowledged. */
export async function runWriterAndKill(url: string, key: Buffer, atLeast: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, url], {
    env: { ...process.env, CLOAK_TEST_KEY: key.toString('hex') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let acked = 0;
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const l of lines) if (/^ack \d+$/.test(l)) acked = Number(l.slice(4)) + 1;
      if (acked >= atLeast) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', (code) => {
      if (acked < atLeast) reject(new Error(`writer exited early (${code}): ${err}`));
    });
  });
  await exited;
  // Lines read after the kill signal was sent were acknowledged before it: count them too.
  for (const l of out.split('\n')) if (/^ack \d+$/.test(l)) acked = Number(l.slice(4)) + 1;
  return acked;
}
