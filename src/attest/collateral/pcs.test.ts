import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pcsUrls } from '../dcap/collateral.ts';
import { verifyDcapQuote } from '../dcap/verify-quote.ts';
import { NO_EVIDENCE, readEvidence } from '../dcap/testing/self-made.ts';
import { pcsCollateralSource, type FetchLike } from './index.ts';

/** An in-memory stand-in for Intel PCS serving the real dcap-qvl collateral the way PCS v4 does (bodies + issuer-chain headers). No network. */
function fakePcs(): { fetch: FetchLike; calls: string[] } {
  const c = JSON.parse(readEvidence('tdx/dcap-qvl_tdx_quote_collateral.json').toString('utf8')) as Record<
    string,
    string
  >;
  const u = pcsUrls('tdx', 'B0C06F000000', 'platform');
  const routes = new Map<string, { body: Buffer; headers: Record<string, string> }>([
    [
      u.tcb,
      {
        body: Buffer.from(`{"tcbInfo":${c.tcb_info},"signature":"${c.tcb_info_signature}"}`),
        headers: { 'TCB-Info-Issuer-Chain': encodeURIComponent(c.tcb_info_issuer_chain!) },
      },
    ],
    [
      u.qe,
      {
        body: Buffer.from(`{"enclaveIdentity":${c.qe_identity},"signature":"${c.qe_identity_signature}"}`),
        headers: { 'SGX-Enclave-Identity-Issuer-Chain': encodeURIComponent(c.qe_identity_issuer_chain!) },
      },
    ],
    [
      u.pckCrl,
      {
        body: Buffer.from(c.pck_crl!, 'hex'),
        headers: { 'SGX-PCK-CRL-Issuer-Chain': encodeURIComponent(c.pck_crl_issuer_chain!) },
      },
    ],
    [u.rootCaCrl, { body: Buffer.from(c.root_ca_crl!, 'hex'), headers: {} }],
  ]);
  const calls: string[] = [];
  const fetch: FetchLike = async (url) => {
    calls.push(url);
    const r = routes.get(url);
    const headers = new Map(Object.entries(r?.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return {
      ok: r !== undefined,
      status: r ? 200 : 404,
      headers: { get: (n: string) => headers.get(n.toLowerCase()) ?? null },
      arrayBuffer: async () => new Uint8Array(r?.body ?? Buffer.alloc(0)).buffer,
    };
  };
  return { fetch, calls };
}

describe('pcsCollateralSource (injected fetch, in-memory PCS)', { skip: NO_EVIDENCE }, () => {
  it('serves PCS v4 bodies and issuer-chain headers; the real TDX quote verifies; responses are cached', async () => {
    const pcs = fakePcs();
    const source = pcsCollateralSource(pcs.fetch);
    const now = new Date('2025-07-01T00:00:00Z');
    const v = await verifyDcapQuote(readEvidence('tdx/dcap-qvl_tdx_quote.dat'), 'tdx', { now, source });
    assert.equal(v.tcb.status, 'UpToDate');
    assert.equal(pcs.calls.length, 4);
    await verifyDcapQuote(readEvidence('tdx/dcap-qvl_tdx_quote.dat'), 'tdx', { now, source });
    assert.equal(pcs.calls.length, 4);
  });

  it('a response is fetched again once it is older than ttlMs', async () => {
    const pcs = fakePcs();
    let clock = 1_000;
    const source = pcsCollateralSource(pcs.fetch, { ttlMs: 60_000, clock: () => clock });
    const u = pcsUrls('tdx', 'B0C06F000000', 'platform');
    await source.get(u.tcb);
    clock += 59_999;
    await source.get(u.tcbIssuerChain);
    assert.equal(pcs.calls.length, 1);
    clock += 1;
    await source.get(u.tcb);
    assert.equal(pcs.calls.length, 2);
  });
});
