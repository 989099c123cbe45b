import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, basename } from 'node:path';
import { isCloakError } from '../../lib/index.ts';
import { readTsmReport, tsmAttester, tdxEvidence, type TsmFs } from './tsm.ts';

/**
 * A FAKE configfs-tsm (not a kernel): an in-memory tree that behaves the way
 * the kernel lays out /sys/kernel/config/tsm/report (mkdir creates the
 * attribute files; writing inblob produces outblob and bumps generation).
 */
function fakeKernel(opts: { provider: string; racer?: number } = { provider: 'tdx_guest' }) {
  const root = '/sys/kernel/config/tsm/report';
  const files = new Map<string, Buffer>();
  const dirs = new Set<string>([root]);
  const writes: Buffer[] = [];
  let races = opts.racer ?? 0;
  const fs: TsmFs = {
    existsSync: (p) => dirs.has(p) || files.has(p),
    mkdirSync: (p) => {
      if (!dirs.has(dirname(p))) throw new Error('ENOENT');
      dirs.add(p);
      files.set(`${p}/generation`, Buffer.from('0\n'));
      files.set(`${p}/provider`, Buffer.from(opts.provider + '\n'));
      files.set(`${p}/outblob`, Buffer.alloc(0));
      files.set(`${p}/auxblob`, Buffer.alloc(0));
      files.set(`${p}/privlevel`, Buffer.from('0\n'));
    },
    rmdirSync: (p) => {
      dirs.delete(p);
      for (const k of [...files.keys()]) if (k.startsWith(p + '/')) files.delete(k);
    },
    readFileSync: (p) => {
      const f = files.get(p);
      if (!f) throw new Error(`ENOENT ${p}`);
      return f;
    },
    writeFileSync: (p, data) => {
      const entry = dirname(p);
      const buf = Buffer.from(data);
      if (basename(p) === 'inblob') {
        writes.push(buf);
        const gen = Number(files.get(`${entry}/generation`)!.toString()) + (races-- > 0 ? 2 : 1);
        files.set(`${entry}/generation`, Buffer.from(`${gen}\n`));
        files.set(`${entry}/outblob`, Buffer.concat([Buffer.from('QUOTE:'), buf]));
      } else files.set(p, buf);
    },
  };
  return { fs, root, writes, dirs };
}

test('configfs-tsm (fake tree): writes the 64-byte report-data, reads the quote, removes the entry', async () => {
  const k = fakeKernel();
  const binding = Buffer.alloc(48, 7);
  const attester = tsmAttester({ tee: 'tdx', root: k.root, fs: k.fs, build: tdxEvidence });
  const ev = (await attester.evidence(binding)) as { quote: string; cc_eventlog: null };
  assert.equal(k.writes.length, 1);
  assert.deepEqual(k.writes[0], Buffer.concat([binding, Buffer.alloc(16)]));
  assert.deepEqual(Buffer.from(ev.quote, 'base64'), Buffer.concat([Buffer.from('QUOTE:'), k.writes[0]!]));
  assert.equal(ev.cc_eventlog, null);
  assert.deepEqual([...k.dirs], [k.root], 'entry removed');
});

test('configfs-tsm (fake tree): retries when generation shows a racing writer, gives up after three', () => {
  const once = fakeKernel({ provider: 'tdx_guest', racer: 1 });
  assert.equal(readTsmReport(Buffer.alloc(64), { root: once.root, fs: once.fs }).generation, 3);
  assert.equal(once.writes.length, 2);
  const always = fakeKernel({ provider: 'tdx_guest', racer: 99 });
  assert.throws(
    () => readTsmReport(Buffer.alloc(64), { root: always.root, fs: always.fs }),
    (e) => isCloakError(e, 'AGENT_TSM_RACE'),
  );
});

test('configfs-tsm: clear errors without a TSM and for a wrong provider', async () => {
  assert.throws(
    () => readTsmReport(Buffer.alloc(64), { root: '/nonexistent/tsm' }),
    (e) => isCloakError(e, 'AGENT_NO_TSM'),
  );
  const k = fakeKernel({ provider: 'sev_guest' });
  const attester = tsmAttester({ tee: 'snp', root: k.root, fs: k.fs, build: tdxEvidence });
  await assert.rejects(attester.evidence(Buffer.alloc(48)), (e) => isCloakError(e, 'AGENT_TSM_PROVIDER'));
});
