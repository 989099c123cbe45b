import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { isCloakError, x509 } from '../../lib/index.ts';
import { AMD_ROOTS, parsedRoots, parseVek } from '../snp/index.ts';
import { VerifyCache } from '../cache.ts';
import { testdata } from '../../lib/testing/testdata.ts';
import { walkChain, type ChainCrl, type ChainUse } from './chain.ts';

const EV = testdata('evidence');
// The walker takes its codes from the caller; these self-made chains borrow SNP's and DCAP's.
const USE: ChainUse = {
  what: 'the test chain',
  invalid: 'SNP_VEK_SIGNATURE_INVALID',
  expired: 'SNP_CERT_EXPIRED',
  notYetValid: 'SNP_CERT_NOT_YET_VALID',
  revoked: 'SNP_REVOKED',
};
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const FROM = new Date('2025-01-01T00:00:00Z');
const TO = new Date('2027-01-01T00:00:00Z');
const NOW = new Date('2026-01-01T00:00:00Z');

/** SELF-MADE certificates (not any vendor's): root → CA → leaf, plus a stranger root of the same name and a non-CA issuer. */
async function selfMade() {
  const keys = () => webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
  const [rootK, caK, leafK, otherK] = await Promise.all([keys(), keys(), keys(), keys()]);
  const bc = (ca: boolean) => [new x509.BasicConstraintsExtension(ca, undefined, true)];
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=SELF-MADE root',
    notBefore: FROM,
    notAfter: TO,
    keys: rootK,
    signingAlgorithm: ALG,
    extensions: bc(true),
  });
  const stranger = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=SELF-MADE root',
    notBefore: FROM,
    notAfter: TO,
    keys: otherK,
    signingAlgorithm: ALG,
    extensions: bc(true),
  });
  const issue = (
    serialNumber: string,
    subject: string,
    issuer: x509.X509Certificate,
    signer: CryptoKeyPair,
    key: CryptoKeyPair,
    ca: boolean,
    notAfter = TO,
  ) =>
    x509.X509CertificateGenerator.create({
      serialNumber,
      subject,
      issuer: issuer.subject,
      notBefore: FROM,
      notAfter,
      publicKey: key.publicKey,
      signingKey: signer.privateKey,
      signingAlgorithm: ALG,
      extensions: bc(ca),
    });
  const ca = await issue('02', 'CN=SELF-MADE CA', root, rootK, caK, true);
  const leaf = await issue('03', 'CN=SELF-MADE leaf', ca, caK, leafK, false);
  const nonCa = await issue('04', 'CN=SELF-MADE not a CA', root, rootK, caK, false);
  const underNonCa = await issue('05', 'CN=SELF-MADE leaf of a non-CA', nonCa, caK, leafK, false);
  const shortCa = await issue('06', 'CN=SELF-MADE CA', root, rootK, caK, true, new Date('2025-06-01T00:00:00Z'));
  const crl = async (serials: string[]) =>
    Buffer.from(
      (
        await x509.X509CrlGenerator.create({
          issuer: root.subject,
          thisUpdate: FROM,
          nextUpdate: TO,
          signingKey: rootK.privateKey,
          signingAlgorithm: ALG,
          entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: FROM })),
        })
      ).rawData,
    );
  const n = (c: x509.X509Certificate) => new X509Certificate(Buffer.from(c.rawData));
  return {
    root: n(root),
    stranger: n(stranger),
    ca: n(ca),
    leaf: n(leaf),
    nonCa: n(nonCa),
    underNonCa: n(underNonCa),
    shortCa: n(shortCa),
    crl,
  };
}

const m = await selfMade();
const crlOf = (data: Buffer, covers?: 'below'): ChainCrl => ({
  data,
  issuer: m.root,
  use: { what: 'the test CRL', invalid: 'DCAP_CRL_INVALID', expired: 'DCAP_COLLATERAL_EXPIRED', refresh: 'fetch one' },
  covers,
});

test(
  'walkChain: a real AMD chain (Milan VCEK → ASK → ARK, the capture and the pinned roots) verifies',
  { skip: EV.skip },
  () => {
    const roots = parsedRoots(AMD_ROOTS.Milan);
    const vek = parseVek(EV.read('snp/vcek.der'));
    const path = walkChain(
      [vek.cert, roots.ask],
      { ...USE, names: ['VCEK', 'ASK', 'ARK'] },
      { now: NOW, anchors: [roots.ark] },
    );
    assert.deepEqual(
      path.certs.map((c) => c.subject.split('\n').at(-1)),
      ['CN=SEV-VCEK', 'CN=SEV-Milan', 'CN=ARK-Milan'],
    );
    assert.ok(path.from <= NOW && NOW <= path.until);
  },
);

test('walkChain: SELF-MADE chains, each failure with its own code', async (t) => {
  const revokeCa = await m.crl(['02']);
  const revokeLeaf = await m.crl(['03']);
  const table: {
    name: string;
    chain: X509Certificate[];
    anchors?: X509Certificate[];
    now?: Date;
    crls?: ChainCrl[];
    code?: string;
    length?: number;
  }[] = [
    { name: 'leaf, CA; root found by issuer', chain: [m.leaf, m.ca], length: 3 },
    { name: 'leaf, CA, root given in the chain', chain: [m.leaf, m.ca, m.root], length: 3 },
    { name: 'the trusted root alone', chain: [m.root], length: 1 },
    {
      name: 'the root chosen among several trusted ones',
      chain: [m.leaf, m.ca],
      anchors: [m.stranger, m.root],
      length: 3,
    },
    { name: 'empty chain', chain: [], code: 'SNP_VEK_SIGNATURE_INVALID' },
    {
      name: 'ends in a root that is not trusted',
      chain: [m.leaf, m.ca, m.stranger],
      code: 'SNP_VEK_SIGNATURE_INVALID',
    },
    {
      name: 'a stranger root of the same name is trusted',
      chain: [m.leaf, m.ca],
      anchors: [m.stranger],
      code: 'SNP_VEK_SIGNATURE_INVALID',
    },
    { name: 'a link is missing (leaf straight to root)', chain: [m.leaf], code: 'SNP_VEK_SIGNATURE_INVALID' },
    { name: 'links out of order', chain: [m.ca, m.leaf], code: 'SNP_VEK_SIGNATURE_INVALID' },
    { name: 'an issuer that is not a CA', chain: [m.underNonCa, m.nonCa], code: 'SNP_VEK_SIGNATURE_INVALID' },
    { name: 'expired at now', chain: [m.leaf, m.ca], now: new Date('2028-01-01T00:00:00Z'), code: 'SNP_CERT_EXPIRED' },
    {
      name: 'not yet valid at now',
      chain: [m.leaf, m.ca],
      now: new Date('2024-01-01T00:00:00Z'),
      code: 'SNP_CERT_NOT_YET_VALID',
    },
    { name: 'a CA that expired before now', chain: [m.shortCa], code: 'SNP_CERT_EXPIRED' },
    { name: 'the root CRL revokes the CA', chain: [m.leaf, m.ca], crls: [crlOf(revokeCa)], code: 'SNP_REVOKED' },
    {
      name: "the root CRL lists the leaf: not the root's to revoke",
      chain: [m.leaf, m.ca],
      crls: [crlOf(revokeLeaf)],
      length: 3,
    },
    {
      name: 'the root CRL lists the leaf and covers everything below',
      chain: [m.leaf, m.ca],
      crls: [crlOf(revokeLeaf, 'below')],
      code: 'SNP_REVOKED',
    },
    {
      name: 'a CRL that does not parse',
      chain: [m.leaf, m.ca],
      crls: [crlOf(Buffer.from('not a CRL'))],
      code: 'DCAP_CRL_INVALID',
    },
    {
      name: 'a CRL from outside the path',
      chain: [m.leaf, m.ca],
      crls: [{ ...crlOf(revokeCa), issuer: m.stranger }],
      code: 'SNP_VEK_SIGNATURE_INVALID',
    },
  ];
  for (const row of table) {
    await t.test(row.name, () => {
      const run = () =>
        walkChain(row.chain, USE, { now: row.now ?? NOW, anchors: row.anchors ?? [m.root], crls: row.crls });
      if (row.code) assert.throws(run, (e: unknown) => isCloakError(e, row.code!));
      else assert.equal(run().certs.length, row.length);
    });
  }
});

test('walkChain with a cache: a path verified before is reused inside its window, checked again outside it; CRLs apply on every call', async () => {
  const cache = new VerifyCache();
  const revokeCa = crlOf(await m.crl(['02']));
  const first = walkChain([m.leaf, m.ca], USE, { now: NOW, anchors: [m.root], cache });
  assert.equal(walkChain([m.leaf, m.ca, m.root], USE, { now: NOW, anchors: [m.root], cache }), first);
  assert.throws(
    () => walkChain([m.leaf, m.ca], USE, { now: new Date('2028-01-01T00:00:00Z'), anchors: [m.root], cache }),
    (e: unknown) => isCloakError(e, 'SNP_CERT_EXPIRED'),
  );
  assert.throws(
    () => walkChain([m.leaf, m.ca], USE, { now: NOW, anchors: [m.root], cache, crls: [revokeCa] }),
    (e: unknown) => isCloakError(e, 'SNP_REVOKED'),
  );
});
