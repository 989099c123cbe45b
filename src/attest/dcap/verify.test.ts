import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { isCloakError } from '../../lib/index.ts';
import { appraiseTcb } from './appraise.ts';
import { extractSignedBody, loadQuoteCollateral, type DcapTee, type QuoteCollateral } from './collateral.ts';
import { parseQuote } from './quote.ts';
import { parseQeIdentity, parseTcbInfo } from './tcb-info.ts';
import { verifyQuoteSignatures } from './verify.ts';
import { verifyDcapQuote } from './verify-quote.ts';
import { NO_EVIDENCE, readEvidence, selfMadeDcap } from './testing/self-made.ts';

const SGX = {
  quote: 'sgx/dcap-qvl_sgx_quote.dat',
  collateral: 'sgx/dcap-qvl_sgx_quote_collateral.json',
  at: new Date('2025-07-01T00:00:00Z'),
};
const TDX = {
  quote: 'tdx/dcap-qvl_tdx_quote.dat',
  collateral: 'tdx/dcap-qvl_tdx_quote_collateral.json',
  at: new Date('2025-07-01T00:00:00Z'),
};
const collateralOf = (file: string): QuoteCollateral => loadQuoteCollateral(readEvidence(file).toString('utf8'));

async function rejects(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  await assert.rejects(
    async () => (typeof p === 'function' ? p() : p),
    (e: unknown) => {
      assert.ok(isCloakError(e), `expected CloakError ${code}, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      return true;
    },
  );
}

describe('dcap: real quotes with their real collateral (Intel appraisal)', { skip: NO_EVIDENCE }, () => {
  const table = [
    {
      name: 'SGX dcap-qvl',
      tee: 'sgx' as DcapTee,
      ...SGX,
      status: 'ConfigurationAndSWHardeningNeeded',
      advisories: ['INTEL-SA-00289', 'INTEL-SA-00615'],
      fmspc: '00a067110000',
    },
    { name: 'TDX dcap-qvl', tee: 'tdx' as DcapTee, ...TDX, status: 'UpToDate', advisories: [], fmspc: 'b0c06f000000' },
  ];
  for (const t of table) {
    it(`${t.name} → ${t.status}`, async () => {
      const v = await verifyDcapQuote(readEvidence(t.quote), t.tee, {
        now: t.at,
        collateral: collateralOf(t.collateral),
      });
      assert.equal(v.tcb.status, t.status);
      assert.deepEqual(v.tcb.advisoryIds, t.advisories);
      assert.equal(v.pck.fmspc.toString('hex'), t.fmspc);
      assert.equal(v.tcb.qeStatus, 'UpToDate');
    });
    it(`${t.name}: verifies at both ends of the collateral window, not after it`, async () => {
      const c = collateralOf(t.collateral);
      await verifyDcapQuote(readEvidence(t.quote), t.tee, { now: new Date('2025-06-19T11:00:00Z'), collateral: c });
      await verifyDcapQuote(readEvidence(t.quote), t.tee, { now: new Date('2025-07-19T09:59:00Z'), collateral: c });
      await rejects(
        verifyDcapQuote(readEvidence(t.quote), t.tee, { now: new Date('2025-07-20T00:00:00Z'), collateral: c }),
        'DCAP_COLLATERAL_EXPIRED',
      );
      await rejects(
        verifyDcapQuote(readEvidence(t.quote), t.tee, { now: new Date('2025-06-01T00:00:00Z'), collateral: c }),
        'DCAP_COLLATERAL_EXPIRED',
      );
    });
  }

  it('reports ConfigurationAndSWHardeningNeeded (SGX dcap-qvl) with its advisories, refusing nothing: the attestation policy decides', async () => {
    const v = await verifyDcapQuote(readEvidence(SGX.quote), 'sgx', {
      now: SGX.at,
      collateral: collateralOf(SGX.collateral),
    });
    assert.equal(v.tcb.status, 'ConfigurationAndSWHardeningNeeded');
    assert.deepEqual(v.tcb.advisoryIds, ['INTEL-SA-00289', 'INTEL-SA-00615']);
    assert.deepEqual(v.warnings, ['TCB status ConfigurationAndSWHardeningNeeded: INTEL-SA-00289, INTEL-SA-00615']);
  });

  it('a TDX quote with SGX collateral is refused', async () => {
    await rejects(
      verifyDcapQuote(readEvidence(TDX.quote), 'tdx', { now: TDX.at, collateral: collateralOf(SGX.collateral) }),
      'DCAP_COLLATERAL_MISMATCH',
    );
  });
});

describe('dcap: signatures and PCK chain of every real capture', { skip: NO_EVIDENCE }, () => {
  const table = [
    { file: SGX.quote, tee: 'sgx' as DcapTee, at: SGX.at, kind: 'sgx', version: 3 },
    {
      file: 'sgx/occlum_quote.dat',
      tee: 'sgx' as DcapTee,
      at: new Date('2023-07-01T00:00:00Z'),
      kind: 'sgx',
      version: 3,
      fmspc: '00606a000000',
    },
    { file: TDX.quote, tee: 'tdx' as DcapTee, at: TDX.at, kind: 'td10', version: 4 },
    {
      file: 'tdx/tdx_prod_quote_SPR_E4.dat',
      tee: 'tdx' as DcapTee,
      at: new Date('2023-07-01T00:00:00Z'),
      kind: 'td10',
      version: 4,
      fmspc: '50806f000000',
    },
    {
      file: 'tdx/quote_v5_sample.dat',
      tee: 'tdx' as DcapTee,
      at: new Date('2026-06-01T00:00:00Z'),
      kind: 'td15',
      version: 5,
    },
  ];
  for (const t of table) {
    it(`${t.file}: v${t.version} ${t.kind}, signatures and chain genuine`, () => {
      const s = verifyQuoteSignatures(readEvidence(t.file), t.tee, t.at);
      assert.equal(s.quote.header.version, t.version);
      assert.equal(s.quote.body.kind, t.kind);
      if (t.fmspc) assert.equal(s.pck.fmspc.toString('hex'), t.fmspc);
      assert.equal(s.pck.tcbComponents.length, 16);
    });
  }
  it('a quote refuses the other TEE', async () => {
    await rejects(() => verifyQuoteSignatures(readEvidence(SGX.quote), 'tdx', SGX.at), 'DCAP_QUOTE_WRONG_TEE');
  });

  it('tdx_prod_quote_SPR_E4: genuine, but no TCB level of sample_tcbInfo_response matches', () => {
    const s = verifyQuoteSignatures(
      readEvidence('tdx/tdx_prod_quote_SPR_E4.dat'),
      'tdx',
      new Date('2023-07-01T00:00:00Z'),
    );
    const info = parseTcbInfo(
      extractSignedBody(readEvidence('tdx/sample_tcbInfo_response').toString('utf8'), 'tcbInfo').body,
    );
    const qe = parseQeIdentity(
      extractSignedBody(readEvidence('tdx/sample_qeIdentity_response').toString('utf8'), 'enclaveIdentity').body,
    );
    assert.ok(s.quote.body.kind !== 'sgx');
    assert.throws(
      () =>
        appraiseTcb(
          info,
          qe,
          s.pck,
          s.quote.signatureData.qe.qeReportParsed,
          s.quote.body.kind !== 'sgx' ? s.quote.body.td : undefined,
        ),
      (e: unknown) => isCloakError(e, 'DCAP_TCB_LEVEL_NOT_FOUND'),
    );
  });
});

describe('dcap: mutations of the real quotes are each refused with their own code', { skip: NO_EVIDENCE }, () => {
  const offsetOf = (buf: Buffer, part: Buffer) => part.byteOffset - buf.byteOffset;
  type Mut = { name: string; at: (q: Buffer) => number; code: string };
  const muts: Mut[] = [
    { name: 'header byte (QE vendor id)', at: () => 12, code: 'DCAP_QUOTE_SIGNATURE_INVALID' },
    { name: 'header byte (user data)', at: () => 40, code: 'DCAP_QUOTE_SIGNATURE_INVALID' },
    { name: 'first body byte', at: () => 48, code: 'DCAP_QUOTE_SIGNATURE_INVALID' },
    {
      name: 'report data (last signed byte)',
      at: (q) => parseQuote(q).signedBytes.length - 1,
      code: 'DCAP_QUOTE_SIGNATURE_INVALID',
    },
    {
      name: 'quote signature',
      at: (q) => offsetOf(q, parseQuote(q).signatureData.signature) + 5,
      code: 'DCAP_QUOTE_SIGNATURE_INVALID',
    },
    {
      name: 'attestation key',
      at: (q) => offsetOf(q, parseQuote(q).signatureData.attestationKey) + 7,
      code: 'DCAP_QE_REPORT_DATA_MISMATCH',
    },
    {
      name: 'QE report (isvsvn)',
      at: (q) => offsetOf(q, parseQuote(q).signatureData.qe.qeReport) + 258,
      code: 'DCAP_QE_REPORT_SIGNATURE_INVALID',
    },
    {
      name: 'QE report signature',
      at: (q) => offsetOf(q, parseQuote(q).signatureData.qe.qeReportSignature) + 3,
      code: 'DCAP_QE_REPORT_SIGNATURE_INVALID',
    },
    {
      name: 'QE authentication data',
      at: (q) => offsetOf(q, parseQuote(q).signatureData.qe.qeAuthData),
      code: 'DCAP_QE_REPORT_DATA_MISMATCH',
    },
    {
      name: 'PCK certificate signature (in the PEM chain)',
      at: (q) => {
        const d = parseQuote(q).signatureData.qe.certification.data;
        return offsetOf(q, d) + d.indexOf('-----END CERTIFICATE-----') - 12;
      },
      code: 'DCAP_PCK_CHAIN_INVALID',
    },
  ];
  for (const [label, f] of [
    ['SGX', SGX],
    ['TDX', TDX],
  ] as const) {
    for (const m of muts) {
      it(`${label}: ${m.name} → ${m.code}`, async () => {
        const q = Buffer.from(readEvidence(f.quote));
        const i = m.at(q);
        q[i] = q[i]! ^ (m.name.startsWith('PCK') ? 0x01 : 0x80);
        await rejects(
          verifyDcapQuote(q, label === 'SGX' ? 'sgx' : 'tdx', { now: f.at, collateral: collateralOf(f.collateral) }),
          m.code,
        );
      });
    }
  }
  it('TDX: PCK chain swapped for the (Intel-signed) TCB signing chain → no SGX extension', async () => {
    const q = readEvidence(TDX.quote);
    const parsed = parseQuote(q);
    const d = parsed.signatureData.qe.certification.data;
    const other = Buffer.from(collateralOf(TDX.collateral).tcbInfoIssuerChain.padEnd(d.length, '\n'));
    assert.ok(other.length === d.length);
    const m = Buffer.from(q);
    other.copy(m, d.byteOffset - q.byteOffset);
    await rejects(
      verifyDcapQuote(m, 'tdx', { now: TDX.at, collateral: collateralOf(TDX.collateral) }),
      'DCAP_PCK_EXTENSION_MALFORMED',
    );
  });
});

describe('dcap: collateral mutations', { skip: NO_EVIDENCE }, () => {
  const flipHex = (s: string, i: number) => s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1);
  const table: { name: string; mutate: (c: QuoteCollateral) => void; code: string }[] = [
    {
      name: 'TCB info signature',
      mutate: (c) => {
        c.tcbInfoSignature = flipHex(c.tcbInfoSignature, 10);
      },
      code: 'DCAP_TCB_INFO_SIGNATURE_INVALID',
    },
    {
      name: 'TCB info body (a status)',
      mutate: (c) => {
        c.tcbInfo = c.tcbInfo.replace('"OutOfDate"', '"UpToDate"');
      },
      code: 'DCAP_TCB_INFO_SIGNATURE_INVALID',
    },
    {
      name: 'QE identity signature',
      mutate: (c) => {
        c.qeIdentitySignature = flipHex(c.qeIdentitySignature, 70);
      },
      code: 'DCAP_QE_IDENTITY_SIGNATURE_INVALID',
    },
    {
      name: 'QE identity body',
      mutate: (c) => {
        c.qeIdentity = c.qeIdentity.replace('"isvprodid":', '"isvprodid": ');
      },
      code: 'DCAP_QE_IDENTITY_SIGNATURE_INVALID',
    },
    {
      name: 'TCB signing chain replaced by the PCK CRL issuer chain',
      mutate: (c) => {
        c.tcbInfoIssuerChain = c.pckCrlIssuerChain;
      },
      code: 'DCAP_TCB_INFO_SIGNATURE_INVALID',
    },
    {
      name: 'TCB signing certificate tampered',
      mutate: (c) => {
        c.tcbInfoIssuerChain = c.tcbInfoIssuerChain.replace(
          /[A-Za-z0-9+/]{8}(?=\n-----END CERTIFICATE-----)/,
          'AAAAAAAA',
        );
      },
      code: 'DCAP_TCB_SIGNING_CHAIN_INVALID',
    },
    {
      name: 'PCK CRL signature',
      mutate: (c) => {
        c.pckCrl = flipHex(c.pckCrl as string, (c.pckCrl as string).length - 6);
      },
      code: 'DCAP_CRL_INVALID',
    },
    {
      name: 'Root CA CRL signature',
      mutate: (c) => {
        c.rootCaCrl = flipHex(c.rootCaCrl as string, (c.rootCaCrl as string).length - 6);
      },
      code: 'DCAP_CRL_INVALID',
    },
    {
      name: 'TCB info truncated by one byte',
      mutate: (c) => {
        c.tcbInfo = c.tcbInfo.slice(0, -1);
      },
      code: 'DCAP_TCB_INFO_SIGNATURE_INVALID',
    },
  ];
  for (const t of table) {
    it(`${t.name} → ${t.code}`, async () => {
      const c = collateralOf(TDX.collateral);
      t.mutate(c);
      await rejects(verifyDcapQuote(readEvidence(TDX.quote), 'tdx', { now: TDX.at, collateral: c }), t.code);
    });
  }
  it('an untrusted root (not the pinned Intel SGX Root CA) is refused', async () => {
    const made = await selfMadeDcap(TDX.quote, TDX.collateral, TDX.at);
    await rejects(
      verifyDcapQuote(made.quote, 'tdx', { now: TDX.at, collateral: made.collateral }),
      'DCAP_PCK_CHAIN_INVALID',
    );
  });
});

describe("dcap: SELF-MADE chains (not Intel's) for what needs Intel's keys", { skip: NO_EVIDENCE }, () => {
  for (const [label, f, tee] of [
    ['SGX', SGX, 'sgx'],
    ['TDX', TDX, 'tdx'],
  ] as const) {
    it(`${label}: the self-made harness verifies when nothing is revoked (control)`, async () => {
      const made = await selfMadeDcap(f.quote, f.collateral, f.at);
      const v = await verifyDcapQuote(made.quote, tee, {
        now: f.at,
        collateral: made.collateral,
        root: new X509Certificate(made.rootPem),
      });
      assert.equal(v.tcb.status, tee === 'sgx' ? 'ConfigurationAndSWHardeningNeeded' : 'UpToDate');
    });
    it(`${label}: revoked PCK (self-made CRL chain) → DCAP_PCK_REVOKED`, async () => {
      const made = await selfMadeDcap(f.quote, f.collateral, f.at, { revokePck: true });
      await rejects(
        verifyDcapQuote(made.quote, tee, {
          now: f.at,
          collateral: made.collateral,
          root: new X509Certificate(made.rootPem),
        }),
        'DCAP_PCK_REVOKED',
      );
    });
  }
});
