import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCloakError } from '../../lib/index.ts';
import { loadQuoteCollateral } from '../dcap/index.ts';
import { directoryCollateral } from '../collateral/index.ts';
import { NO_EVIDENCE, readEvidence, selfMadeDcap } from '../dcap/testing/self-made.ts';
import { writeOfflineCollateralDir } from '../dcap/testing/offline-dir.ts';
import { tdxVerifier } from './verifier.ts';

const QUOTE = 'tdx/dcap-qvl_tdx_quote.dat';
const COLLATERAL = 'tdx/dcap-qvl_tdx_quote_collateral.json';
const AT = new Date('2025-07-01T00:00:00Z');
const qvlJson = () => JSON.parse(readEvidence(COLLATERAL).toString('utf8')) as Record<string, string>;

const offlineDir = (): string => writeOfflineCollateralDir(qvlJson(), 'tdx', 'B0C06F000000', 'platform');

describe('tdxVerifier on the real TDX quote', { skip: NO_EVIDENCE }, () => {
  const quoteB64 = readEvidence(QUOTE).toString('base64');
  const table = [
    {
      name: 'CoCo evidence JSON, collateral in trust.dcap (dcap-qvl form)',
      evidence: { quote: quoteB64, cc_eventlog: null },
      ctx: () => ({ now: AT, trust: { dcap: { collateral: qvlJson() } } }),
    },
    {
      name: 'raw bytes, collateral as a QuoteCollateral',
      evidence: readEvidence(QUOTE),
      ctx: () => ({ now: AT, trust: { dcap: { collateral: loadQuoteCollateral(qvlJson()) } } }),
    },
  ];
  for (const t of table) {
    it(t.name, async () => {
      const v = await tdxVerifier.verify(t.evidence, t.ctx());
      assert.equal(v.tee, 'tdx');
      assert.equal(v.insecure, false);
      assert.equal(v.claims.tcb_status, 'UpToDate');
      assert.equal(v.claims.fmspc, 'B0C06F000000');
      assert.equal(v.claims.debug, false);
      assert.equal(
        v.claims.mr_td,
        '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7',
      );
      assert.equal(v.reportData.length, 64);
      assert.equal(v.reportData.toString('hex'), v.claims.report_data);
      assert.equal(v.initData?.toString('hex'), v.claims.mr_config_id);
      for (const k of [
        'rtmr0',
        'rtmr1',
        'rtmr2',
        'rtmr3',
        'mr_owner',
        'mr_owner_config',
        'xfam',
        'td_attributes',
        'advisory_ids',
      ])
        assert.ok(k in v.claims, k);
    });
  }

  it('collateral from ctx.collateral: an offline directory of PCS v4 responses', async () => {
    const dir = offlineDir();
    try {
      const v = await tdxVerifier.verify({ quote: quoteB64 }, { now: AT, collateral: directoryCollateral(dir) });
      assert.equal(v.claims.tcb_status, 'UpToDate');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('no collateral → DCAP_COLLATERAL_UNAVAILABLE; empty directory too', async () => {
    await assert.rejects(tdxVerifier.verify({ quote: quoteB64 }, { now: AT }), (e) =>
      isCloakError(e, 'DCAP_COLLATERAL_UNAVAILABLE'),
    );
    const dir = mkdtempSync(join(tmpdir(), 'cloak-dcap-'));
    try {
      await assert.rejects(
        tdxVerifier.verify({ quote: quoteB64 }, { now: AT, collateral: directoryCollateral(dir) }),
        (e) => isCloakError(e, 'DCAP_COLLATERAL_UNAVAILABLE'),
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('malformed evidence → TDX_EVIDENCE_MALFORMED', async () => {
    for (const e of [null, {}, { quote: 42 }, { quote: '!!' }, 'text']) {
      await assert.rejects(tdxVerifier.verify(e, { now: AT }), (x) => isCloakError(x, 'TDX_EVIDENCE_MALFORMED'));
    }
  });

  it('debug TD (re-signed with a SELF-MADE chain) → reported as debug: true (the attestation policy refuses it)', async () => {
    const made = await selfMadeDcap(QUOTE, COLLATERAL, AT, {
      mutateBody: (body) => {
        body[120] = body[120]! | 0x01;
      },
    });
    const v = await tdxVerifier.verify(made.quote, {
      now: AT,
      trust: { dcap: { collateral: made.collateral, rootCaPem: made.rootPem } },
    });
    assert.equal(v.claims.debug, true);
  });

  it('binding: report data is the 48-byte digest zero-padded to 64; init data is mr_config_id (48)', () => {
    const d = Buffer.alloc(48, 7);
    assert.deepEqual(tdxVerifier.expectedReportData(d), Buffer.concat([d, Buffer.alloc(16)]));
    assert.deepEqual(
      tdxVerifier.expectedInitData!(Buffer.alloc(32, 1)),
      Buffer.concat([Buffer.alloc(32, 1), Buffer.alloc(16)]),
    );
    assert.deepEqual(tdxVerifier.expectedInitData!(Buffer.alloc(64, 1)), Buffer.alloc(48, 1));
  });
});
