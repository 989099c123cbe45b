import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { errorKind, isCloakError, type CloakError } from '../lib/index.ts';
import { sampleVerifier, runtimeDataDigest } from '../attest/index.ts';
import { openStore } from '../store/index.ts';
import { INSECURE_DEV_ATTESTATION_POLICY } from '../policy/index.ts';
import { KeyBroker, TokenIssuer, SESSION_TTL_MS, KBS_ERRORS } from './index.ts';

async function setup() {
  const store = await openStore('sqlite::memory:', { sealingKey: randomBytes(32) });
  await store.setPolicy(
    'attestation',
    INSECURE_DEV_ATTESTATION_POLICY.replace('allowInsecure: [sim]', 'allowInsecure: [sample]'),
  );
  await store.putResource('default/secret/x', Buffer.from('x'));
  let now = new Date('2026-03-01T00:00:00Z');
  const tokens = await TokenIssuer.load(store, 'cloak-test');
  const broker = new KeyBroker({ store, tokens, verifiers: [sampleVerifier], clock: () => now });
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as Record<string, string>), alg: 'ECDH-ES+A256KW' };
  const attestReq = (nonce: string) => ({
    'runtime-data': { nonce, 'tee-pubkey': jwk as any },
    'tee-evidence': {
      primary_evidence: { svn: '1', report_data: runtimeDataDigest(nonce, jwk).toString('base64') },
      additional_evidence: '',
    },
  });
  return {
    store,
    broker,
    attestReq,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
    now: () => now,
  };
}

test('an expired session is refused and swept; tokens expire too', async () => {
  const { store, broker, attestReq, advance, now } = await setup();
  const s = await broker.auth({ version: '0.4.0', tee: 'sample' });
  advance(SESSION_TTL_MS + 1);
  await assert.rejects(broker.attest(s.sessionId, attestReq(s.nonce)), (e) => isCloakError(e, 'KBS_SESSION_EXPIRED'));

  const s2 = await broker.auth({ version: '0.4.0', tee: 'sample' });
  const token = await broker.attest(s2.sessionId, attestReq(s2.nonce));
  assert.equal(await broker.attest(s2.sessionId, attestReq(s2.nonce)), token, 'a second attest returns the same token');
  assert.ok(await broker.resource({ bearer: token }, 'default/secret/x'));
  advance(SESSION_TTL_MS + 1000);
  await assert.rejects(broker.resource({ bearer: token }, 'default/secret/x'), (e) =>
    isCloakError(e, 'KBS_TOKEN_INVALID'),
  );
  await assert.rejects(broker.resource({ sessionId: s2.sessionId }, 'default/secret/x'), (e) =>
    isCloakError(e, 'KBS_SESSION_EXPIRED'),
  );

  const s3 = await broker.auth({ version: '0.4.0', tee: 'sample' });
  advance(SESSION_TTL_MS + 1);
  assert.equal(await store.sweepSessions(now()), 1);
  assert.equal(await store.getSession(s3.sessionId), undefined);
  await store.close();
});

test('resource paths are validated before anything is read', async () => {
  const { broker } = await setup();
  for (const bad of ['../x/y', 'a/b', 'a/b/c/d', 'a/./b', 'a/b/%2e%2e', 'a/b/' + 'x'.repeat(200)]) {
    await assert.rejects(
      broker.resource({ bearer: 'x' }, bad),
      (e) => isCloakError(e, 'KBS_RESOURCE_PATH_INVALID'),
      bad,
    );
  }
});

test('an attested session gives its token again only to the tee-pubkey it bound; the audit chain holds the attest once', async () => {
  const { store, broker, attestReq } = await setup();
  const s = await broker.auth({ version: '0.4.0', tee: 'sample' }, '192.0.2.1');
  const token = await broker.attest(s.sessionId, attestReq(s.nonce), '192.0.2.1');
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = { ...(publicKey.export({ format: 'jwk' }) as Record<string, string>), alg: 'ECDH-ES+A256KW' };
  const otherReq = {
    'runtime-data': { nonce: s.nonce, 'tee-pubkey': other as any },
    'tee-evidence': {
      primary_evidence: { svn: '1', report_data: runtimeDataDigest(s.nonce, other).toString('base64') },
      additional_evidence: '',
    },
  };
  await assert.rejects(
    broker.attest(s.sessionId, otherReq, '192.0.2.1'),
    (e) => isCloakError(e, 'KBS_SESSION_ATTESTED') && errorKind(e as CloakError, KBS_ERRORS) === 'conflict',
  );
  assert.equal(
    await broker.attest(s.sessionId, attestReq(s.nonce)),
    token,
    'the refusal did not burn the attested session',
  );
  const attests = await store.queryAudit({ kind: 'kbs.attest' });
  assert.deepEqual(
    attests.map((r) => [r.outcome, r.subject, r.details?.source]),
    [['ok', s.sessionId, '192.0.2.1']],
  );
  const counted = await store.queryAuditCounts({ source: '192.0.2.1' });
  assert.deepEqual(counted.map((c) => [c.kind, c.outcome, c.code, c.count]).sort(), [
    ['kbs.attest', 'refused', 'KBS_SESSION_ATTESTED', 1],
    ['kbs.auth', 'ok', 'OK', 1],
  ]);
  await store.close();
});
