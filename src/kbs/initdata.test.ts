import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseInitData } from './initdata.ts';

test('the agent policy in the init-data reaches the claims as its digest, the rest as written', () => {
  const policy = 'package agent_policy\n' + '# rule\n'.repeat(5000);
  const body = `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = '''\n${policy}'''\n"cloak.toml" = 'name = "web"'\n`;
  const { claims, digest } = parseInitData({ format: 'toml', body });
  const data = (claims as { data: Record<string, string> }).data;
  assert.equal(data['policy.rego'], 'sha256:' + createHash('sha256').update(policy).digest('hex'));
  assert.equal(data['cloak.toml'], 'name = "web"');
  assert.equal(
    digest.toString('hex'),
    createHash('sha256').update(body).digest('hex'),
    'the init-data digest is over the whole text, policy included',
  );
  assert.ok(JSON.stringify(claims).length < 400);
});
