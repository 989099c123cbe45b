import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseToml } from 'smol-toml';
import { initDataDigestHex } from '../lib/index.ts';
import { readWorkloadEntry, workloadInitData, WORKLOAD_ENTRY } from './workload-entry.ts';

const refuse = (m: string) => Object.assign(new Error(m), { code: 'TEST_REFUSED' });
const digest = 'sha256:' + 'a'.repeat(64);
const dataOf = (text: string) => (parseToml(text) as { data: Record<string, unknown> }).data;

test('the cloak.toml entry written by workloadInitData is read back as written, and the text is deterministic', () => {
  const w = {
    name: 'web',
    server: 'https://cloak.example:8080',
    images: [digest, 'sha256:' + '0'.repeat(64)],
    secrets: [
      { resource: 'default/secret/db', file: 'db/password' },
      { resource: 'default/secret/token', env: 'TOKEN' },
    ],
  };
  const text = workloadInitData({ ...w, policy: 'package agent_policy\n' });
  assert.equal(text, workloadInitData({ ...w, images: [...w.images].reverse(), policy: 'package agent_policy\n' }));
  const data = dataOf(text);
  assert.deepEqual(Object.keys(data), [WORKLOAD_ENTRY, 'aa.toml', 'cdh.toml', 'policy.rego']);
  assert.deepEqual(readWorkloadEntry(data, refuse), {
    ...w,
    images: [...w.images].sort(),
    secrets: [
      { resource: 'default/secret/db', file: 'db/password', env: undefined },
      { resource: 'default/secret/token', file: undefined, env: 'TOKEN' },
    ],
  });
  assert.match(initDataDigestHex(text), /^[0-9a-f]{64}$/);
  assert.throws(
    () => workloadInitData({ ...w, server: 'file:///etc/passwd' }),
    (e: any) => e.code === 'INITDATA_SERVER_URL',
  );
});

test("a cloak.toml entry that is not what the model says is refused with the caller's error", () => {
  const entry = (body: string) => ({ [WORKLOAD_ENTRY]: body });
  const table: Array<[unknown, RegExp]> = [
    [undefined, /no \[data\] "cloak.toml" entry/],
    [{ 'cloak.toml': 7 }, /no \[data\] "cloak.toml" entry/],
    [entry('name = '), /not valid TOML/],
    [entry('name = "Web"'), /needs name = /],
    [entry('name = "web"\nimages = ["sha256:abc"]'), /images must be a list/],
    [entry('name = "web"\nsecrets = "x"'), /secrets must be an array/],
    [entry('name = "web"\n[[secrets]]\nresource = "default/../x"\nfile = "x"'), /resource must be repo\/type\/tag/],
    [entry('name = "web"\n[[secrets]]\nresource = "default/secret/x"'), /exactly one of file/],
    [
      entry('name = "web"\n[[secrets]]\nresource = "default/secret/x"\nfile = "../etc/passwd"'),
      /relative path without/,
    ],
    [entry('name = "web"\n[[secrets]]\nresource = "default/secret/x"\nenv = "A-B"'), /must be a variable name/],
    [
      entry(
        'name = "web"\n[[secrets]]\nresource = "default/secret/x"\nfile = "a"\n[[secrets]]\nresource = "default/secret/y"\nfile = "a"',
      ),
      /writes file:a twice/,
    ],
  ];
  for (const [data, message] of table) {
    assert.throws(
      () => readWorkloadEntry(data, refuse),
      (e: any) => e.code === 'TEST_REFUSED' && message.test(e.message),
      String(message),
    );
  }
});
