import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { isCloakError } from '../../lib/index.ts';
import type { CollateralSource } from '../types.ts';
import { COLLATERAL_REUSE_MS, gatheredCollateral } from './collateral-cache.ts';
import { directoryCollateral } from '../collateral/index.ts';
import { writeOfflineCollateralDir } from './testing/offline-dir.ts';
import { NO_EVIDENCE, readEvidence } from './testing/self-made.ts';
import { verifyDcapQuote } from './verify-quote.ts';
import { VerifyCache } from '../cache.ts';

const AT = new Date('2025-07-01T00:00:00Z');
const later = (ms: number) => new Date(AT.getTime() + ms);
const qvl = () =>
  JSON.parse(readEvidence('tdx/dcap-qvl_tdx_quote_collateral.json').toString('utf8')) as Record<string, string>;

/** The real TDX collateral as an offline directory, with every read counted. */
function countedDir(): { source: CollateralSource; reads: () => number; dir: string } {
  const dir = writeOfflineCollateralDir(qvl(), 'tdx', 'B0C06F000000', 'platform');
  const inner = directoryCollateral(dir);
  let n = 0;
  return {
    source: {
      get: (url) => {
        n++;
        return inner.get(url);
      },
    },
    reads: () => n,
    dir,
  };
}

describe('gatheredCollateral: collateral from a source reused across quotes', { skip: NO_EVIDENCE }, () => {
  it('gathers once, serves the same object synchronously within the reuse time, gathers again after it', async () => {
    const d = countedDir();
    const cache = new VerifyCache();
    try {
      const first = await gatheredCollateral(d.source, 'tdx', 'b0c06f000000', 'platform', AT, cache);
      assert.equal(d.reads(), 7);
      const again = gatheredCollateral(
        d.source,
        'tdx',
        'b0c06f000000',
        'platform',
        later(COLLATERAL_REUSE_MS - 1),
        cache,
      );
      assert.ok(!(again instanceof Promise));
      assert.equal(again, first);
      assert.equal(d.reads(), 7);
      const fresh = await gatheredCollateral(
        d.source,
        'tdx',
        'b0c06f000000',
        'platform',
        later(COLLATERAL_REUSE_MS),
        cache,
      );
      assert.notEqual(fresh, first);
      assert.equal(d.reads(), 14);
      // Requests a little out of order still share it; another platform is its own entry.
      assert.equal(
        gatheredCollateral(d.source, 'tdx', 'b0c06f000000', 'platform', later(COLLATERAL_REUSE_MS - 5), cache),
        fresh,
      );
      const reads = d.reads();
      await Promise.resolve(gatheredCollateral(d.source, 'tdx', 'b0c06f000000', 'processor', AT, cache)).catch(
        () => undefined,
      );
      assert.ok(d.reads() > reads);
    } finally {
      rmSync(d.dir, { recursive: true });
    }
  });

  it('concurrent quotes share one gathering', async () => {
    const d = countedDir();
    const cache = new VerifyCache();
    try {
      const all = await Promise.all(
        Array.from({ length: 5 }, () => gatheredCollateral(d.source, 'tdx', 'b0c06f000000', 'platform', AT, cache)),
      );
      assert.equal(d.reads(), 7);
      assert.ok(all.every((c) => c === all[0]));
    } finally {
      rmSync(d.dir, { recursive: true });
    }
  });

  it('without a cache in the context, every quote gathers', async () => {
    const d = countedDir();
    try {
      await gatheredCollateral(d.source, 'tdx', 'b0c06f000000', 'platform', AT);
      await gatheredCollateral(d.source, 'tdx', 'b0c06f000000', 'platform', AT);
      assert.equal(d.reads(), 14);
    } finally {
      rmSync(d.dir, { recursive: true });
    }
  });

  it('a failed gathering is not kept: the next quote asks the source again', async () => {
    let available = false;
    const d = countedDir();
    const source: CollateralSource = { get: (url) => (available ? d.source.get(url) : Promise.resolve(undefined)) };
    const quote = readEvidence('tdx/dcap-qvl_tdx_quote.dat');
    const cache = new VerifyCache();
    try {
      await assert.rejects(verifyDcapQuote(quote, 'tdx', { now: AT, source, cache }), (e) =>
        isCloakError(e, 'DCAP_COLLATERAL_UNAVAILABLE'),
      );
      available = true;
      const v = await verifyDcapQuote(quote, 'tdx', { now: AT, source, cache });
      assert.equal(v.tcb.status, 'UpToDate');
    } finally {
      rmSync(d.dir, { recursive: true });
    }
  });
});
