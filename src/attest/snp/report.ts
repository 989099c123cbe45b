import { CloakError, isAllZero } from '../../lib/index.ts';

/**
 * The SEV-SNP ATTESTATION_REPORT structure (AMD SEV-SNP ABI, table
 * "ATTESTATION_REPORT Structure"), versions 2, 3 and 5. Fixed size 0x4A0;
 * the signature covers bytes 0x000..0x2A0.
 */
export const REPORT_SIZE = 0x4a0;
export const SIGNED_LENGTH = 0x2a0;
export const SUPPORTED_VERSIONS = [2, 3, 5] as const;

/** Byte offsets of the report's fields. */
export const OFFSETS = {
  version: 0x00,
  guestSvn: 0x04,
  policy: 0x08,
  familyId: 0x10,
  imageId: 0x20,
  vmpl: 0x30,
  sigAlgo: 0x34,
  currentTcb: 0x38,
  platformInfo: 0x40,
  keyInfo: 0x48,
  reserved0: 0x4c,
  reportData: 0x50,
  measurement: 0x90,
  hostData: 0xc0,
  idKeyDigest: 0xe0,
  authorKeyDigest: 0x110,
  reportId: 0x140,
  reportIdMa: 0x160,
  reportedTcb: 0x180,
  cpuidFamId: 0x188,
  cpuidModId: 0x189,
  cpuidStep: 0x18a,
  reserved1: 0x18b,
  chipId: 0x1a0,
  committedTcb: 0x1e0,
  currentBuild: 0x1e8,
  currentMinor: 0x1e9,
  currentMajor: 0x1ea,
  reserved2: 0x1eb,
  committedBuild: 0x1ec,
  committedMinor: 0x1ed,
  committedMajor: 0x1ee,
  reserved3: 0x1ef,
  launchTcb: 0x1f0,
  launchMitVector: 0x1f8,
  currentMitVector: 0x200,
  reserved4: 0x208,
  signatureR: 0x2a0,
  signatureS: 0x2e8,
  signatureReserved: 0x330,
} as const;

export const SIG_ALGO_ECDSA_P384_SHA384 = 1;

/** TCB_VERSION: security patch levels of the firmware components. */
export interface TcbVersion {
  /** Present on Turin (and later) only. */
  fmc?: number;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  /** The raw 64-bit value, hex (16 digits, little-endian integer rendered big-endian). */
  raw: bigint;
}

export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Buffer;
  imageId: Buffer;
  vmpl: number;
  sigAlgo: number;
  currentTcbRaw: bigint;
  platformInfo: bigint;
  keyInfo: number;
  reportData: Buffer;
  measurement: Buffer;
  hostData: Buffer;
  idKeyDigest: Buffer;
  authorKeyDigest: Buffer;
  reportId: Buffer;
  reportIdMa: Buffer;
  reportedTcbRaw: bigint;
  /** v3+: CPUID Fn0000_0001_EAX family/model/stepping of the chip; undefined in v2. */
  cpuid?: { family: number; model: number; stepping: number };
  chipId: Buffer;
  committedTcbRaw: bigint;
  currentVersion: { major: number; minor: number; build: number };
  committedVersion: { major: number; minor: number; build: number };
  launchTcbRaw: bigint;
  /** v5+: mitigation vectors. */
  launchMitVector?: bigint;
  currentMitVector?: bigint;
  /** r and s, 72 bytes each, little-endian as in the report. */
  signatureR: Buffer;
  signatureS: Buffer;
  /** The signed bytes 0x000..0x2A0 (a view into the input). */
  signed: Buffer;
  /** The whole report (a view into the input). */
  raw: Buffer;
}

const fail = (message: string): never => {
  throw new CloakError('SNP_REPORT_MALFORMED', message);
};

function reservedZero(buf: Buffer, from: number, to: number, what: string): void {
  if (!isAllZero(buf.subarray(from, to)))
    fail(`the report's reserved bytes ${what} (0x${from.toString(16)}..0x${to.toString(16)}) are not zero`);
}

/**
 * Parses a raw report. Exactly REPORT_SIZE bytes; the version must be 2, 3 or
 * 5; reserved fields must be zero (the v2 CPUID bytes included).
 */
export function parseReport(input: Uint8Array): SnpReport {
  if (!(input instanceof Uint8Array)) fail('the SEV-SNP report must be bytes');
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length !== REPORT_SIZE) fail(`an SEV-SNP report is ${REPORT_SIZE} bytes, got ${buf.length}`);
  const O = OFFSETS;
  const version = buf.readUInt32LE(O.version);
  if (!(SUPPORTED_VERSIONS as readonly number[]).includes(version)) {
    fail(`SEV-SNP report version ${version} is not supported (2, 3 or 5)`);
  }
  const sigAlgo = buf.readUInt32LE(O.sigAlgo);
  const keyInfo = buf.readUInt32LE(O.keyInfo);
  if (keyInfo >>> 5 !== 0) fail("the report's key-info field has reserved bits set");
  reservedZero(buf, O.reserved0, O.reportData, 'after key-info');
  const v3 = version >= 3;
  reservedZero(buf, v3 ? O.reserved1 : O.cpuidFamId, O.chipId, 'after reported-tcb');
  reservedZero(buf, O.reserved2, O.reserved2 + 1, 'after current version');
  reservedZero(buf, O.reserved3, O.reserved3 + 1, 'after committed version');
  const v5 = version >= 5;
  reservedZero(buf, v5 ? O.reserved4 : O.launchMitVector, SIGNED_LENGTH, 'before the signature');
  reservedZero(buf, O.signatureReserved, REPORT_SIZE, 'after the signature');
  const policy = buf.readBigUInt64LE(O.policy);
  if ((policy & (1n << 17n)) === 0n) fail("the guest policy's reserved bit 17 must be 1");
  const sub = (off: number, len: number): Buffer => buf.subarray(off, off + len);
  const version3 = (off: number): { major: number; minor: number; build: number } => ({
    build: buf[off]!,
    minor: buf[off + 1]!,
    major: buf[off + 2]!,
  });
  return {
    version,
    guestSvn: buf.readUInt32LE(O.guestSvn),
    policy,
    familyId: sub(O.familyId, 16),
    imageId: sub(O.imageId, 16),
    vmpl: buf.readUInt32LE(O.vmpl),
    sigAlgo,
    currentTcbRaw: buf.readBigUInt64LE(O.currentTcb),
    platformInfo: buf.readBigUInt64LE(O.platformInfo),
    keyInfo,
    reportData: sub(O.reportData, 64),
    measurement: sub(O.measurement, 48),
    hostData: sub(O.hostData, 32),
    idKeyDigest: sub(O.idKeyDigest, 48),
    authorKeyDigest: sub(O.authorKeyDigest, 48),
    reportId: sub(O.reportId, 32),
    reportIdMa: sub(O.reportIdMa, 32),
    reportedTcbRaw: buf.readBigUInt64LE(O.reportedTcb),
    cpuid: v3 ? { family: buf[O.cpuidFamId]!, model: buf[O.cpuidModId]!, stepping: buf[O.cpuidStep]! } : undefined,
    chipId: sub(O.chipId, 64),
    committedTcbRaw: buf.readBigUInt64LE(O.committedTcb),
    currentVersion: version3(O.currentBuild),
    committedVersion: version3(O.committedBuild),
    launchTcbRaw: buf.readBigUInt64LE(O.launchTcb),
    launchMitVector: v5 ? buf.readBigUInt64LE(O.launchMitVector) : undefined,
    currentMitVector: v5 ? buf.readBigUInt64LE(O.currentMitVector) : undefined,
    signatureR: sub(O.signatureR, 72),
    signatureS: sub(O.signatureS, 72),
    signed: sub(0, SIGNED_LENGTH),
    raw: buf,
  };
}

/**
 * Splits a TCB_VERSION. Milan and Genoa: byte 0 bootloader, 1 TEE, 6 SNP,
 * 7 microcode. Turin: byte 0 FMC, 1 bootloader, 2 TEE, 3 SNP, 7 microcode.
 */
export function decodeTcb(raw: bigint, turin: boolean): TcbVersion {
  const b = (i: number): number => Number((raw >> BigInt(8 * i)) & 0xffn);
  return turin
    ? { fmc: b(0), bootloader: b(1), tee: b(2), snp: b(3), microcode: b(7), raw }
    : { bootloader: b(0), tee: b(1), snp: b(6), microcode: b(7), raw };
}

/** Inverse of decodeTcb, for building reports from CoCo's JSON. */
export function encodeTcb(
  t: { fmc?: number | null; bootloader: number; tee: number; snp: number; microcode: number },
  turin: boolean,
): bigint {
  const at = (v: number, i: number): bigint => BigInt(v & 0xff) << BigInt(8 * i);
  return turin
    ? at(t.fmc ?? 0, 0) | at(t.bootloader, 1) | at(t.tee, 2) | at(t.snp, 3) | at(t.microcode, 7)
    : at(t.bootloader, 0) | at(t.tee, 1) | at(t.snp, 6) | at(t.microcode, 7);
}

/** key-info bits 2..4: which key signed the report. */
export function signingKey(report: SnpReport): 'VCEK' | 'VLEK' | 'none' | 'reserved' {
  const k = (report.keyInfo >>> 2) & 0x7;
  return k === 0 ? 'VCEK' : k === 1 ? 'VLEK' : k === 7 ? 'none' : 'reserved';
}
