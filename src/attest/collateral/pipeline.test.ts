import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { errorKind, isCloakError, type CloakError } from '../../lib/index.ts';
import { ATTEST_ERRORS } from '../errors.ts';
import { tdxVerifier } from '../tdx/index.ts';
import { writeOfflineCollateralDir } from '../dcap/testing/offline-dir.ts';
import { testdata } from '../../lib/testing/testdata.ts';
import {
  byHost,
  cachedCollateral,
  firstOf,
  httpSource,
  operatorCollateral,
  staticCollateral,
  type FetchLike,
} from './index.ts';

const EV = testdata('evidence');
const shared = (p: string) => new URL(p, EV.url);
const text = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString() : undefined);

/** An injected fetch (no network) answering `body of URL` with an `X-Chain` header, counting requests. */
function fakeFetch(opts: { hang?: boolean } = {}): { fetch: FetchLike; calls: string[] } {
  const calls: string[] = [];
  const fetch: FetchLike = (url, init) => {
    calls.push(url);
    if (opts.hang)
      return new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
    return Promise.resolve(
      new Response(url.endsWith('/missing') ? null : `body of ${url}`, {
        status: url.endsWith('/missing') ? 404 : 200,
        headers: { 'X-Chain': encodeURIComponent('-----BEGIN-----\nchain') },
      }),
    );
  };
  return { fetch, calls };
}

test('httpSource: a response header answers URL#Header (any case, URL-decoded); one request serves concurrent asks; 404 is unavailable', async () => {
  const f = fakeFetch();
  const http = httpSource({ fetch: f.fetch, headers: ['X-Chain'] });
  const [body, chain] = await Promise.all([http.get('https://x.test/a'), http.get('https://x.test/a#x-CHAIN')]);
  assert.equal(text(body), 'body of https://x.test/a');
  assert.equal(text(chain), '-----BEGIN-----\nchain');
  assert.equal(f.calls.length, 1);
  assert.equal(await http.get('https://x.test/a#Other-Header'), undefined);
  assert.equal(await http.get('https://x.test/missing'), undefined);
});

test('httpSource: a request that does not answer within the timeout fails with the configured code', async () => {
  const http = httpSource({
    fetch: fakeFetch({ hang: true }).fetch,
    timeoutMs: 20,
    unavailable: { code: 'DCAP_COLLATERAL_UNAVAILABLE', hint: 'check network access to Intel PCS' },
  });
  const alive = setTimeout(() => {}, 5000); // AbortSignal.timeout does not hold the event loop open; a real socket would
  try {
    await assert.rejects(
      http.get('https://x.test/slow'),
      (e) =>
        isCloakError(e, 'DCAP_COLLATERAL_UNAVAILABLE') &&
        /Intel PCS/.test((e as Error).message) &&
        errorKind(e as CloakError, ATTEST_ERRORS) === 'upstream_failed',
    );
  } finally {
    clearTimeout(alive);
  }
});

test('cachedCollateral: keeps a response whole (body and headers), at most maxEntries of them, oldest out first', async () => {
  const f = fakeFetch();
  const c = cachedCollateral(httpSource({ fetch: f.fetch, headers: ['X-Chain'] }), { now: () => 0, maxEntries: 2 });
  await c.get('https://x.test/a');
  assert.equal(text(await c.get('https://x.test/a#X-Chain')), '-----BEGIN-----\nchain');
  assert.deepEqual(f.calls, ['https://x.test/a']);
  await c.get('https://x.test/b');
  await c.get('https://x.test/c');
  await c.get('https://x.test/c');
  await c.get('https://x.test/a');
  assert.deepEqual(f.calls, ['https://x.test/a', 'https://x.test/b', 'https://x.test/c', 'https://x.test/a']);
});

test('byHost routes by host suffix (not by substring), firstOf takes the first answer, staticCollateral answers fixed URLs', async () => {
  const amd = staticCollateral([['https://kdsintf.amd.com/x', Buffer.from('amd')]]);
  const other = staticCollateral([
    ['https://evilamd.com/x', Buffer.from('other')],
    ['https://kdsintf.amd.com/y', Buffer.from('y')],
  ]);
  const routed = byHost([['amd.com', amd]], other);
  assert.equal(text(await routed.get('https://kdsintf.amd.com/x')), 'amd');
  assert.equal(text(await routed.get('https://evilamd.com/x')), 'other');
  assert.equal(await routed.get('https://kdsintf.amd.com/y'), undefined);
  assert.equal(await routed.get('not a url'), undefined);
  assert.equal(text(await firstOf([amd, other]).get('https://kdsintf.amd.com/y')), 'y');
});

test(
  'operatorCollateral: the real dcap-qvl collateral file and the same collateral as a PCS directory both verify the real TDX quote',
  { skip: EV.skip },
  async () => {
    const at = new Date('2025-07-01T00:00:00Z');
    const quote = { quote: readFileSync(shared('tdx/dcap-qvl_tdx_quote.dat')).toString('base64') };
    const file = shared('tdx/dcap-qvl_tdx_quote_collateral.json').pathname;
    const fromFile = await tdxVerifier.verify(quote, { now: at, collateral: operatorCollateral(file) });
    assert.equal(fromFile.claims.tcb_status, 'UpToDate');
    const dir = writeOfflineCollateralDir(JSON.parse(readFileSync(file, 'utf8')), 'tdx', 'B0C06F000000', 'platform');
    try {
      const fromDir = await tdxVerifier.verify(quote, { now: at, collateral: operatorCollateral(dir) });
      assert.deepEqual(fromDir.claims, fromFile.claims);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(
      () => operatorCollateral('/nonexistent/collateral'),
      (e) => isCloakError(e, 'COLLATERAL_PATH_MISSING'),
    );
    assert.throws(
      () => operatorCollateral(shared('snp/vcek.der').pathname),
      (e) => isCloakError(e, 'DCAP_COLLATERAL_MALFORMED'),
    );
  },
);
