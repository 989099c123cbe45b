import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCloakError } from '../lib/index.ts';
import { loadServerConfig, parseListen, parseRetention } from './config.ts';

test('config precedence: cloak.yaml < CLOAK_* < flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-cfg-'));
  try {
    const file = join(dir, 'cloak.yaml');
    writeFileSync(file, `listen: 127.0.0.1:7000\ndata: ${dir}/from-file\nlogLevel: debug\nsimRoots: [a.pem]\n`);
    const fromFile = loadServerConfig({ config: file }, {});
    assert.equal(fromFile.listen, '127.0.0.1:7000');
    assert.equal(fromFile.db, `sqlite:${dir}/from-file/cloak.db`);
    assert.deepEqual(fromFile.simRoots, ['a.pem']);
    const fromEnv = loadServerConfig(
      { config: file },
      { CLOAK_LISTEN: '127.0.0.1:7001', CLOAK_DB: 'postgres://x@h/db' },
    );
    assert.equal(fromEnv.listen, '127.0.0.1:7001');
    assert.equal(fromEnv.db, 'postgres://x@h/db');
    assert.equal(fromEnv.logLevel, 'debug');
    const fromFlags = loadServerConfig({ config: file, listen: '[::1]:7002' }, { CLOAK_LISTEN: '127.0.0.1:7001' });
    assert.equal(fromFlags.listen, '[::1]:7002');
    assert.deepEqual(parseListen('[::1]:7002'), { host: '::1', port: 7002 });
    writeFileSync(file, 'lisen: x\n');
    assert.throws(
      () => loadServerConfig({ config: file }, {}),
      (e) => isCloakError(e, 'CONFIG_INVALID'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(
    () => loadServerConfig({ listen: 'nope' }, {}),
    (e) => isCloakError(e, 'CONFIG_INVALID'),
  );
  assert.throws(
    () => loadServerConfig({ db: 'mysql://x' }, {}),
    (e) => isCloakError(e, 'CONFIG_INVALID'),
  );
  assert.equal(loadServerConfig({}, {}).listen, '127.0.0.1:8080');
});

test('refusalRetention: 30 days by default, hours or days from cloak.yaml or CLOAK_REFUSAL_RETENTION, nonsense refused', () => {
  const h = 3_600_000;
  assert.equal(loadServerConfig({}, {}).refusalRetention, 30 * 24 * h);
  assert.equal(loadServerConfig({}, { CLOAK_REFUSAL_RETENTION: '12h' }).refusalRetention, 12 * h);
  assert.equal(parseRetention('7d'), 7 * 24 * h);
  for (const bad of ['0h', '30', '1w', '-1d', '3651d', 'd', '']) {
    assert.throws(
      () => parseRetention(bad),
      (e) => isCloakError(e, 'CONFIG_INVALID'),
      bad,
    );
  }
});
