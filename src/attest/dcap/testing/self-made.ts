/**
 * SELF-MADE test chains (not Intel's): a "Test SGX Root CA", PCK CA, PCK
 * leaf (carrying the real PCK's SGX extension), and a TCB signer, made with
 * WebCrypto + @peculiar/x509, to re-sign real quotes and collateral for the
 * negative tests that need a key Intel holds (revoked PCK, debug TD/enclave).
 */
import { createHash, webcrypto } from 'node:crypto';
import { x509 } from '../../../lib/index.ts';
import { testdata } from '../../../lib/testing/testdata.ts';
import { loadQuoteCollateral, type QuoteCollateral } from '../collateral.ts';
import { parseQuote } from '../quote.ts';
import { SGX_EXTENSIONS_OID } from '../pck-extensions.ts';

const EV = testdata('evidence');
export const readEvidence = EV.read;
/** The reason to skip a test that reads the real captures, or false when they are there. */
export const NO_EVIDENCE = EV.skip;

const subtle = webcrypto.subtle;
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signAlg = { name: 'ECDSA', hash: 'SHA-256' } as const;
const newKeys = () => subtle.generateKey(ecdsa, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
const DAY = 86400_000;

export interface SelfMadeDcap {
  rootPem: string;
  quote: Buffer;
  collateral: QuoteCollateral;
  pckSerial: string;
}

/**
 * Re-signs `quoteFile` with self-made keys: optionally mutates the body
 * (e.g. sets DEBUG), signs with a new attestation key, binds it in the QE
 * report, signs that with a self-made PCK, and re-signs the real collateral
 * bodies with a self-made TCB signer. `revokePck` lists the PCK in the CRL.
 */
export async function selfMadeDcap(
  quoteFile: string,
  collateralFile: string,
  at: Date,
  opts: { mutateBody?: (body: Buffer) => void; revokePck?: boolean } = {},
): Promise<SelfMadeDcap> {
  const real = readEvidence(quoteFile);
  const parsed = parseQuote(real);
  const realPck = new x509.X509Certificate(
    parsed.signatureData.qe.certification.data
      .toString('latin1')
      .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)![0],
  );
  const sgxExt = realPck.getExtension(SGX_EXTENSIONS_OID)!;

  const [rootK, caK, pckK, tcbK, akK] = await Promise.all([newKeys(), newKeys(), newKeys(), newKeys(), newKeys()]);
  const notBefore = new Date(at.getTime() - 30 * DAY);
  const notAfter = new Date(at.getTime() + 365 * DAY);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Test SGX Root CA (self-made)',
    notBefore,
    notAfter,
    keys: rootK,
    signingAlgorithm: signAlg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const issue = (
    serialNumber: string,
    subject: string,
    keys: CryptoKeyPair,
    ca: boolean,
    extensions: x509.Extension[] = [],
  ) =>
    x509.X509CertificateGenerator.create({
      serialNumber,
      subject,
      issuer: root.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: rootK.privateKey,
      signingAlgorithm: signAlg,
      extensions: [new x509.BasicConstraintsExtension(ca, undefined, true), ...extensions],
    });
  const pckCa = await issue('02', 'CN=Test SGX PCK Platform CA (self-made)', caK, true);
  const tcbSigner = await issue('03', 'CN=Test SGX TCB Signing (self-made)', tcbK, false);
  const pckSerial = '0badc0de';
  const pck = await x509.X509CertificateGenerator.create({
    serialNumber: pckSerial,
    subject: 'CN=Test SGX PCK Certificate (self-made)',
    issuer: pckCa.subject,
    notBefore,
    notAfter,
    publicKey: pckK.publicKey,
    signingKey: caK.privateKey,
    signingAlgorithm: signAlg,
    extensions: [new x509.Extension(SGX_EXTENSIONS_OID, false, sgxExt.value)],
  });

  const signedBytes = Buffer.from(parsed.signedBytes);
  const bodyStart = signedBytes.length - (parsed.body.kind === 'sgx' ? 384 : parsed.body.kind === 'td10' ? 584 : 648);
  opts.mutateBody?.(signedBytes.subarray(bodyStart));
  const akJwk = await subtle.exportKey('jwk', akK.publicKey);
  const ak = Buffer.concat([Buffer.from(akJwk.x!, 'base64url'), Buffer.from(akJwk.y!, 'base64url')]);
  const quoteSig = Buffer.from(await subtle.sign(signAlg, akK.privateKey, signedBytes));
  const qe = parsed.signatureData.qe;
  const qeReport = Buffer.from(qe.qeReport);
  createHash('sha256').update(ak).update(qe.qeAuthData).digest().copy(qeReport, 320);
  qeReport.fill(0, 352, 384);
  const qeSig = Buffer.from(await subtle.sign(signAlg, pckK.privateKey, qeReport));
  const pem = Buffer.from([pck, pckCa, root].map((c) => c.toString('pem')).join('\n'));
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n);
    return b;
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const qeCert = Buffer.concat([
    qeReport,
    qeSig,
    u16(qe.qeAuthData.length),
    qe.qeAuthData,
    u16(5),
    u32(pem.length),
    pem,
  ]);
  const sigData =
    parsed.header.version === 3
      ? Buffer.concat([quoteSig, ak, qeCert])
      : Buffer.concat([quoteSig, ak, u16(6), u32(qeCert.length), qeCert]);
  const quote = Buffer.concat([signedBytes, u32(sigData.length), sigData]);

  const realCol = loadQuoteCollateral(readEvidence(collateralFile).toString('utf8'));
  const crlTimes = { thisUpdate: notBefore, nextUpdate: notAfter };
  const rootCrl = await x509.X509CrlGenerator.create({
    issuer: root.subject,
    ...crlTimes,
    signingKey: rootK.privateKey,
    signingAlgorithm: signAlg,
  });
  const pckCrl = await x509.X509CrlGenerator.create({
    issuer: pckCa.subject,
    ...crlTimes,
    signingKey: caK.privateKey,
    signingAlgorithm: signAlg,
    entries: opts.revokePck ? [{ serialNumber: pckSerial, revocationDate: notBefore }] : [],
  });
  const signHex = async (body: string) =>
    Buffer.from(await subtle.sign(signAlg, tcbK.privateKey, Buffer.from(body, 'utf8'))).toString('hex');
  const tcbChain = [tcbSigner, root].map((c) => c.toString('pem')).join('\n');
  return {
    rootPem: root.toString('pem'),
    quote,
    pckSerial,
    collateral: {
      pckCrlIssuerChain: [pckCa, root].map((c) => c.toString('pem')).join('\n'),
      rootCaCrl: Buffer.from(rootCrl.rawData),
      pckCrl: Buffer.from(pckCrl.rawData),
      tcbInfoIssuerChain: tcbChain,
      tcbInfo: realCol.tcbInfo,
      tcbInfoSignature: await signHex(realCol.tcbInfo),
      qeIdentityIssuerChain: tcbChain,
      qeIdentity: realCol.qeIdentity,
      qeIdentitySignature: await signHex(realCol.qeIdentity),
    },
  };
}
