import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorKind, isCloakError } from '../lib/index.ts';
import { sampleVerifier, runtimeDataDigest } from '../attest/index.ts';
import { KeyBroker, TokenIssuer, toProblem, KBS_ERRORS } from './index.ts';
import { memoryStore, teePubkey } from './testing/broker.ts';

const policy = (allowInsecure: string, executables = '0') =>
  `version: 1\nallowInsecure: ${allowInsecure}\ntrustVector:\n  hardware: "2"\n  executables: '${executables}'\n`;

async function sampleToken(allowInsecure = '[sample]') {
  const store = await memoryStore();
  await store.setPolicy('attestation', policy(allowInsecure));
  await store.putResource('default/secret/x', Buffer.from('x'));
  const broker = new KeyBroker({
    store,
    tokens: await TokenIssuer.load(store, 'cloak-test'),
    verifiers: [sampleVerifier],
  });
  const jwk = teePubkey();
  const s = await broker.auth({ version: '0.4.0', tee: 'sample' });
  const attest = () =>
    broker.attest(s.sessionId, {
      'runtime-data': { nonce: s.nonce, 'tee-pubkey': jwk },
      'tee-evidence': {
        primary_evidence: { svn: '1', report_data: runtimeDataDigest(s.nonce, jwk).toString('base64') },
        additional_evidence: '',
      },
    });
  return { store, broker, attest };
}

test('a release follows the attestation policy in force, not the one the token was issued under', async () => {
  const { store, broker, attest } = await sampleToken();
  const token = await attest();
  assert.ok(await broker.resource({ bearer: token }, 'default/secret/x'));
  // Stricter trust vector: the same claims are now contraindicated.
  await store.setPolicy('attestation', policy('[sample]', '96'));
  await assert.rejects(broker.resource({ bearer: token }, 'default/secret/x'), (e) =>
    isCloakError(e, 'KBS_ATTESTATION_CONTRAINDICATED'),
  );
  // The resource policy sees the status under the policy in force (warning), not the token's (affirming).
  await store.setPolicy('attestation', policy('[sample]', '33'));
  await assert.rejects(
    broker.resource({ bearer: token }, 'default/secret/x'),
    (e) => isCloakError(e, 'KBS_POLICY_DENY') && /status warning/.test(e.message),
  );
  await store.setPolicy('attestation', policy('[sample]'));
  assert.ok(await broker.resource({ bearer: token }, 'default/secret/x'), 'loosened again: released');
  await store.close();
});

test('a stored policy that no longer parses (the old allowInsecure: true) admits nobody, as a server error', async () => {
  const { store, broker, attest } = await sampleToken();
  const token = await attest();
  await store.setPolicy('attestation', 'version: 1\nallowInsecure: true\n');
  const refused = (e: unknown) =>
    isCloakError(e, 'POLICY_IN_FORCE_INVALID') &&
    errorKind(e, KBS_ERRORS) === 'internal' &&
    /allowInsecure: \[sim\]/.test(e.message);
  await assert.rejects(broker.resource({ bearer: token }, 'default/secret/x'), refused);
  await assert.rejects(broker.attestationPolicy(), refused);
  await assert.rejects(
    broker.resource({ bearer: token }, 'default/secret/x'),
    (e) => toProblem(e, 500).detail === 'internal error (the server log has the details)',
  );
  await store.close();
});
