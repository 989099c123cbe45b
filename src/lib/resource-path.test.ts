import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isResourcePath, parseResourcePath, kbsUri, resourceOfKbsUri } from './resource-path.ts';
import { errorKind, LIB_ERRORS } from './errors.ts';

test('resource paths: repo/type/tag of letters, digits, . _ - and never . or ..', () => {
  const table: Array<[unknown, boolean]> = [
    ['default/secret/db', true],
    ['a.b/k_e-y/v1.2', true],
    [`a/b/${'x'.repeat(128)}`, true],
    ['default/secret', false],
    ['default/secret/db/x', false],
    ['../secret/db', false],
    ['default/./db', false],
    ['default//db', false],
    ['default/secret/d b', false],
    [`a/b/${'x'.repeat(129)}`, false],
    ['a/b/c\n', false],
    [42, false],
  ];
  for (const [path, ok] of table) assert.equal(isResourcePath(path), ok, String(path));
  assert.deepEqual(parseResourcePath('default/key/7'), ['default', 'key', '7']);
  assert.throws(
    () => parseResourcePath('default/../x'),
    (e: any) => e.code === 'KBS_RESOURCE_PATH_INVALID' && errorKind(e, LIB_ERRORS) === 'invalid',
  );
});

test('kbs:/// URIs: written and read back; a host is allowed, a bad path is not', () => {
  assert.equal(kbsUri('default/key/7'), 'kbs:///default/key/7');
  assert.equal(resourceOfKbsUri(kbsUri('default/key/7')), 'default/key/7');
  assert.equal(resourceOfKbsUri('kbs://kbs.example/default/key/7'), 'default/key/7');
  for (const bad of [
    'kbs:///default/key',
    'kbs:///default/../7',
    'https:///default/key/7',
    'kbs:/default/key/7',
    'kbs:///default/key/7\n',
  ]) {
    assert.equal(resourceOfKbsUri(bad), undefined, bad);
  }
});
