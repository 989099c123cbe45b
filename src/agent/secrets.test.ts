import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCloakError } from '../lib/index.ts';
import { writeSecrets, type WriteSecretsOptions } from './secrets.ts';
import type { SecretSpec } from './workload.ts';

const values = new Map([
  ['default/secret/db', Buffer.from('pw-1')],
  ['default/secret/key', Buffer.from("it's-key")],
  ['default/secret/bin', Buffer.from([0x41, 0x00, 0x42])],
]);
const mode = (p: string) => lstatSync(p).mode & 0o7777;

function inTemp(fn: (dir: string) => void) {
  const root = mkdtempSync(join(tmpdir(), 'cloak-secrets-'));
  chmodSync(root, 0o711); // others may pass through to the secrets directory; what they find there is the test
  try {
    fn(join(root, 'out'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const write = (dir: string, secrets: SecretSpec[], opts: WriteSecretsOptions = { mode: 0o755 }, v = values) =>
  writeSecrets(dir, secrets, v, opts);

test('files 0400 at their paths, variables shell-quoted in cloak.env, the directory in the mode asked for; nothing else left', () =>
  inTemp((dir) => {
    const r = write(dir, [
      { resource: 'default/secret/db', file: 'db/password' },
      { resource: 'default/secret/key', env: 'API_KEY' },
    ]);
    assert.deepEqual(r, { files: ['db/password'], env: ["API_KEY=it's-key"] });
    assert.equal(readFileSync(join(dir, 'db/password'), 'utf8'), 'pw-1');
    assert.equal(readFileSync(join(dir, 'cloak.env'), 'utf8'), "API_KEY='it'\\''s-key'\n");
    assert.equal(mode(join(dir, 'db/password')), 0o400);
    assert.equal(mode(join(dir, 'cloak.env')), 0o400);
    assert.equal(mode(join(dir, 'db')), 0o700);
    assert.equal(mode(dir), 0o755);
    assert.deepEqual(readdirSync(dir).sort(), ['cloak.env', 'db'], 'no staging directory left');
  }));

test('a binary value as a variable is refused before anything is written', () =>
  inTemp((dir) => {
    assert.throws(
      () =>
        write(dir, [
          { resource: 'default/secret/db', file: 'db' },
          { resource: 'default/secret/bin', env: 'BIN' },
        ]),
      (e) => isCloakError(e, 'AGENT_ENV_BINARY'),
    );
    assert.equal(existsSync(dir), false);
    write(dir, [{ resource: 'default/secret/bin', file: 'bin' }]);
    assert.deepEqual(
      readFileSync(join(dir, 'bin')),
      values.get('default/secret/bin'),
      'as a file it is delivered byte for byte',
    );
  }));

test('a file secret named cloak.env beside variables, or one inside another file secret, is refused before anything is written', () =>
  inTemp((dir) => {
    const cases: SecretSpec[][] = [
      [
        { resource: 'default/secret/db', file: 'cloak.env' },
        { resource: 'default/secret/key', env: 'API_KEY' },
      ],
      [
        { resource: 'default/secret/db', file: 'cloak.env/x' },
        { resource: 'default/secret/key', env: 'API_KEY' },
      ],
      [
        { resource: 'default/secret/db', file: 'a' },
        { resource: 'default/secret/key', file: 'a/b/c' },
      ],
    ];
    for (const secrets of cases) {
      assert.throws(
        () => write(dir, secrets),
        (e) => isCloakError(e, 'AGENT_SECRET_CONFLICT'),
        JSON.stringify(secrets),
      );
      assert.equal(existsSync(dir), false);
    }
    write(dir, [{ resource: 'default/secret/db', file: 'cloak.env' }]);
    assert.equal(readFileSync(join(dir, 'cloak.env'), 'utf8'), 'pw-1', 'without variables the name is free');
  }));

test('all or nothing: a failure part-way leaves the directory as it was; success replaces what was there under the same names', () =>
  inTemp((dir) => {
    mkdirSync(join(dir, 'db'), { recursive: true });
    writeFileSync(join(dir, 'db', 'password'), 'old');
    writeFileSync(join(dir, 'other'), 'kept');
    const partial = new Map(values);
    partial.delete('default/secret/key'); // the second file cannot be written once the first is
    assert.throws(() =>
      write(
        dir,
        [
          { resource: 'default/secret/db', file: 'db/password' },
          { resource: 'default/secret/key', file: 'z/key' },
        ],
        { mode: 0o755 },
        partial,
      ),
    );
    assert.deepEqual(readdirSync(dir).sort(), ['db', 'other'], 'nothing staged is left behind');
    assert.equal(readFileSync(join(dir, 'db', 'password'), 'utf8'), 'old');

    write(dir, [{ resource: 'default/secret/db', file: 'db/password' }]);
    assert.equal(readFileSync(join(dir, 'db', 'password'), 'utf8'), 'pw-1');
    assert.equal(readFileSync(join(dir, 'other'), 'utf8'), 'kept');
  }));

const root = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
test(
  "with an owner: everything is that uid's, directories 0500, and no other local user reads a secret",
  { skip: root ? false : 'needs root and setpriv' },
  () =>
    inTemp((dir) => {
      const owner = { uid: 54321, gid: 54321 };
      write(
        dir,
        [
          { resource: 'default/secret/db', file: 'a/b/password' },
          { resource: 'default/secret/key', env: 'API_KEY' },
        ],
        { mode: 0o500, owner },
      );
      for (const p of ['', 'a', 'a/b', 'a/b/password', 'cloak.env']) {
        const st = lstatSync(join(dir, p));
        assert.deepEqual([st.uid, st.gid], [owner.uid, owner.gid], p || 'the directory');
        assert.equal(
          st.mode & 0o7777,
          p.endsWith('password') || p === 'cloak.env' ? 0o400 : 0o500,
          p || 'the directory',
        );
      }
      const cat = (uid: number, f: string) =>
        spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'cat', join(dir, f)], {
          encoding: 'utf8',
        });
      assert.equal(cat(owner.uid, 'a/b/password').stdout, 'pw-1', 'the owner reads it');
      for (const f of ['a/b/password', 'cloak.env']) assert.notEqual(cat(65534, f).status, 0, `nobody reads ${f}`);
    }),
);
