/**
 * SELF-MADE test chain: an ARK/ASK/VCEK hierarchy and SEV-SNP report made
 * here with WebCrypto and @peculiar/x509. Nothing here is AMD's or any
 * hardware's; it exists so chain logic, revocation and validity can be tested
 * with keys we hold. Trust it only by injecting it as `ctx.trust.snp.roots`.
 */
import { createPrivateKey, sign, webcrypto, X509Certificate } from 'node:crypto';
import { x509 } from '../../../lib/index.ts';
import { encodeTcb, OFFSETS, REPORT_SIZE, SIGNED_LENGTH } from '../report.ts';
import type { ProductRoots } from '../roots/index.ts';
import { VEK_OIDS } from '../vek.ts';

const subtle = webcrypto.subtle as unknown as SubtleCrypto;
const PSS = { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as const;
const rsaKeys = (): Promise<CryptoKeyPair> =>
  subtle.generateKey({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

const der = (hex: string): Uint8Array => Buffer.from(hex, 'hex');
const int = (n: number): Uint8Array => der(n >= 0x80 ? `020200${n.toString(16).padStart(2, '0')}` : `0201${n.toString(16).padStart(2, '0')}`);
const ia5 = (s: string): Uint8Array => Buffer.concat([Buffer.from([0x16, s.length]), Buffer.from(s, 'ascii')]);

export interface SelfMadeTcb { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number }

export interface SelfMadeChain {
  roots: Record<string, ProductRoots>;
  ark: x509.X509Certificate;
  ask: x509.X509Certificate;
  arkKeys: CryptoKeyPair;
  vcekDer: Buffer;
  vcekPrivatePem: string;
  chipId: Buffer;
  tcb: SelfMadeTcb;
  product: string;
  kind: 'VCEK' | 'VLEK';
  notBefore: Date;
  notAfter: Date;
}

export async function makeSelfMadeChain(opts: { product?: string; tcb?: SelfMadeTcb; vlek?: boolean; notBefore?: Date; notAfter?: Date } = {}): Promise<SelfMadeChain> {
  const product = opts.product ?? 'Milan';
  const tcb = opts.tcb ?? (product === 'Turin' ? { fmc: 1, bootloader: 3, tee: 0, snp: 8, microcode: 115 } : { bootloader: 3, tee: 0, snp: 8, microcode: 115 });
  const kind = opts.vlek ? 'VLEK' : 'VCEK';
  const notBefore = opts.notBefore ?? new Date('2024-01-01T00:00:00Z');
  const notAfter = opts.notAfter ?? new Date('2030-01-01T00:00:00Z');
  const arkKeys = await rsaKeys();
  const askKeys = await rsaKeys();
  const ark = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: `CN=SELF-MADE ARK-${product}`, notBefore, notAfter, keys: arkKeys, signingAlgorithm: PSS,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const ask = await x509.X509CertificateGenerator.create({
    serialNumber: '02', subject: `CN=SELF-MADE SEV-${product}`, issuer: ark.subject, notBefore, notAfter,
    publicKey: askKeys.publicKey, signingKey: arkKeys.privateKey, signingAlgorithm: PSS,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  const vcekKeys = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']) as CryptoKeyPair;
  const chipId = Buffer.alloc(64);
  webcrypto.getRandomValues(chipId);
  const ext = (oid: string, value: Uint8Array): x509.Extension => new x509.Extension(oid, false, new Uint8Array(value));
  const vcek = await x509.X509CertificateGenerator.create({
    serialNumber: '03', subject: `CN=SELF-MADE SEV-${kind}`, issuer: ask.subject, notBefore, notAfter,
    publicKey: vcekKeys.publicKey, signingKey: askKeys.privateKey, signingAlgorithm: PSS,
    extensions: [
      ext(VEK_OIDS.structVersion, int(0)), ext(VEK_OIDS.productName, ia5(`${product}-B0`)),
      ext(VEK_OIDS.blSpl, int(tcb.bootloader)), ext(VEK_OIDS.teeSpl, int(tcb.tee)), ext(VEK_OIDS.snpSpl, int(tcb.snp)),
      ext(VEK_OIDS.ucodeSpl, int(tcb.microcode)),
      ...(tcb.fmc !== undefined ? [ext(VEK_OIDS.fmcSpl, int(tcb.fmc))] : []),
      ...(kind === 'VLEK' ? [ext(VEK_OIDS.cspId, ia5('SELF-MADE CSP'))] : [ext(VEK_OIDS.hwId, product === 'Turin' ? chipId.subarray(0, 8) : chipId)]),
    ],
  });
  const pkcs8 = Buffer.from(await subtle.exportKey('pkcs8', vcekKeys.privateKey));
  const arkPem = ark.toString('pem');
  const roots: ProductRoots = {
    product, ark: arkPem, ask: ask.toString('pem'), asvk: ask.toString('pem'),
    arkSha256: new X509Certificate(arkPem).fingerprint256.replace(/:/g, '').toLowerCase(),
  };
  return {
    roots: { [product]: roots }, ark, ask, arkKeys, vcekDer: Buffer.from(vcek.rawData),
    vcekPrivatePem: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string,
    chipId: product === 'Turin' ? Buffer.concat([chipId.subarray(0, 8), Buffer.alloc(56)]) : chipId, tcb, product, kind, notBefore, notAfter,
  };
}

/** A SELF-MADE CRL signed by the self-made ARK, revoking the given serials (hex). */
export async function makeSelfMadeCrl(chain: SelfMadeChain, serials: string[], thisUpdate = new Date('2025-01-01T00:00:00Z'), nextUpdate = new Date('2029-01-01T00:00:00Z')): Promise<Buffer> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: chain.ark.subject, thisUpdate, nextUpdate, signingKey: chain.arkKeys.privateKey, signingAlgorithm: PSS,
    entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: thisUpdate })),
  });
  return Buffer.from(crl.rawData);
}

export interface SelfMadeReportFields {
  version?: number; policy?: bigint; vmpl?: number; reportData?: Buffer; hostData?: Buffer; measurement?: Buffer;
  guestSvn?: number; tcb?: SelfMadeTcb; chipId?: Buffer; cpuid?: [number, number, number]; mitVectors?: [bigint, bigint];
}

/** A SELF-MADE report (v3 by default, CPUID of the chain's product) signed with the self-made VEK's key. */
export function makeSelfMadeReport(chain: SelfMadeChain, f: SelfMadeReportFields = {}): Buffer {
  const b = Buffer.alloc(REPORT_SIZE);
  const O = OFFSETS;
  const version = f.version ?? 3;
  b.writeUInt32LE(version, O.version);
  b.writeUInt32LE(f.guestSvn ?? 1, O.guestSvn);
  b.writeBigUInt64LE(f.policy ?? 0x30000n, O.policy);
  b.writeUInt32LE(f.vmpl ?? 0, O.vmpl);
  b.writeUInt32LE(1, O.sigAlgo);
  if (chain.kind === 'VLEK') b.writeUInt32LE(1 << 2, O.keyInfo);
  const turin = chain.product === 'Turin';
  const tcb = encodeTcb(f.tcb ?? chain.tcb, turin);
  for (const off of [O.currentTcb, O.reportedTcb, O.committedTcb, O.launchTcb]) b.writeBigUInt64LE(tcb, off);
  (f.reportData ?? Buffer.alloc(64, 0xaa)).copy(b, O.reportData);
  (f.measurement ?? Buffer.alloc(48, 0x11)).copy(b, O.measurement);
  (f.hostData ?? Buffer.alloc(32)).copy(b, O.hostData);
  if (version >= 3) Buffer.from(f.cpuid ?? (turin ? [0x1a, 0x02, 0x00] : chain.product === 'Genoa' ? [0x19, 0x11, 0x01] : [0x19, 0x01, 0x01])).copy(b, O.cpuidFamId);
  (f.chipId ?? chain.chipId).copy(b, O.chipId);
  Buffer.from([7, 55, 1]).copy(b, O.currentBuild);
  Buffer.from([7, 55, 1]).copy(b, O.committedBuild);
  if (f.mitVectors) { b.writeBigUInt64LE(f.mitVectors[0], O.launchMitVector); b.writeBigUInt64LE(f.mitVectors[1], O.currentMitVector); }
  const sig = sign('sha384', b.subarray(0, SIGNED_LENGTH), { key: chain.vcekPrivatePem, dsaEncoding: 'ieee-p1363' });
  Buffer.from(sig.subarray(0, 48)).reverse().copy(b, O.signatureR);
  Buffer.from(sig.subarray(48)).reverse().copy(b, O.signatureS);
  return b;
}
