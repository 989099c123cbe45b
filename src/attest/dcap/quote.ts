import { CloakError } from '../../lib/index.ts';
import { ByteReader } from '../../lib/index.ts';

/** Intel DCAP quote layouts (SGX v3, TDX v4/v5): bytes → structs, nothing else. */

export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;
const SGX_BODY_LEN = 384;
const TD10_BODY_LEN = 584;
const TD15_BODY_LEN = 648;
const CODE = 'DCAP_QUOTE_MALFORMED';

export interface QuoteHeader {
  version: number;
  attestationKeyType: number;
  teeType: number;
  qeSvn: number;
  pceSvn: number;
  qeVendorId: Buffer;
  userData: Buffer;
}

/** An SGX enclave report body (also the shape of the QE report). */
export interface SgxReportBody {
  cpuSvn: Buffer;
  miscSelect: number;
  isvExtProdId: Buffer;
  attributes: Buffer;
  mrEnclave: Buffer;
  mrSigner: Buffer;
  configId: Buffer;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
  isvFamilyId: Buffer;
  reportData: Buffer;
}

export interface TdReportBody {
  kind: 'td10' | 'td15';
  teeTcbSvn: Buffer;
  mrSeam: Buffer;
  mrSignerSeam: Buffer;
  seamAttributes: Buffer;
  tdAttributes: Buffer;
  xfam: Buffer;
  mrTd: Buffer;
  mrConfigId: Buffer;
  mrOwner: Buffer;
  mrOwnerConfig: Buffer;
  rtmrs: Buffer[];
  reportData: Buffer;
  teeTcbSvn2?: Buffer;
  mrServiceTd?: Buffer;
}

export interface CertificationData {
  type: number;
  data: Buffer;
}

/** Type 6 certification data: the QE report and what the PCK signs. */
export interface QeReportCertificationData {
  qeReport: Buffer;
  qeReportParsed: SgxReportBody;
  qeReportSignature: Buffer;
  qeAuthData: Buffer;
  certification: CertificationData;
}

export interface QuoteSignatureData {
  signature: Buffer;
  attestationKey: Buffer;
  qe: QeReportCertificationData;
}

export type QuoteBody = { kind: 'sgx'; sgx: SgxReportBody } | { kind: 'td10' | 'td15'; td: TdReportBody };

export interface Quote {
  header: QuoteHeader;
  body: QuoteBody;
  /** The bytes the attestation key signs: header (+ v5 body descriptor) + body. */
  signedBytes: Buffer;
  signatureData: QuoteSignatureData;
  /** Bytes after the signature data (padding); ignored but reported. */
  trailing: number;
}

function parseHeader(r: ByteReader): QuoteHeader {
  const version = r.u16le('version');
  const attestationKeyType = r.u16le('attestation key type');
  const teeType = r.u32le('tee type');
  const qeSvn = r.u16le('qe svn');
  const pceSvn = r.u16le('pce svn');
  const qeVendorId = r.bytes(16, 'qe vendor id');
  const userData = r.bytes(20, 'user data');
  return { version, attestationKeyType, teeType, qeSvn, pceSvn, qeVendorId, userData };
}

export function parseSgxReportBody(buf: Buffer, what = 'SGX report body'): SgxReportBody {
  const r = new ByteReader(buf, CODE, what);
  const cpuSvn = r.bytes(16, 'cpusvn');
  const miscSelect = r.u32le('miscselect');
  r.skip(12, 'reserved1');
  const isvExtProdId = r.bytes(16, 'isv ext prod id');
  const attributes = r.bytes(16, 'attributes');
  const mrEnclave = r.bytes(32, 'mrenclave');
  r.skip(32, 'reserved2');
  const mrSigner = r.bytes(32, 'mrsigner');
  r.skip(32, 'reserved3');
  const configId = r.bytes(64, 'config id');
  const isvProdId = r.u16le('isv prod id');
  const isvSvn = r.u16le('isv svn');
  const configSvn = r.u16le('config svn');
  r.skip(42, 'reserved4');
  const isvFamilyId = r.bytes(16, 'isv family id');
  const reportData = r.bytes(64, 'report data');
  if (r.remaining !== 0) throw new CloakError(CODE, `${what} must be ${SGX_BODY_LEN} bytes`);
  return {
    cpuSvn,
    miscSelect,
    isvExtProdId,
    attributes,
    mrEnclave,
    mrSigner,
    configId,
    isvProdId,
    isvSvn,
    configSvn,
    isvFamilyId,
    reportData,
  };
}

function parseTdBody(buf: Buffer, kind: 'td10' | 'td15'): TdReportBody {
  const r = new ByteReader(buf, CODE, 'TD report body');
  const body: TdReportBody = {
    kind,
    teeTcbSvn: r.bytes(16, 'tee tcb svn'),
    mrSeam: r.bytes(48, 'mrseam'),
    mrSignerSeam: r.bytes(48, 'mrsignerseam'),
    seamAttributes: r.bytes(8, 'seam attributes'),
    tdAttributes: r.bytes(8, 'td attributes'),
    xfam: r.bytes(8, 'xfam'),
    mrTd: r.bytes(48, 'mrtd'),
    mrConfigId: r.bytes(48, 'mrconfigid'),
    mrOwner: r.bytes(48, 'mrowner'),
    mrOwnerConfig: r.bytes(48, 'mrownerconfig'),
    rtmrs: [r.bytes(48, 'rtmr0'), r.bytes(48, 'rtmr1'), r.bytes(48, 'rtmr2'), r.bytes(48, 'rtmr3')],
    reportData: r.bytes(64, 'report data'),
  };
  if (kind === 'td15') {
    body.teeTcbSvn2 = r.bytes(16, 'tee tcb svn 2');
    body.mrServiceTd = r.bytes(48, 'mrservicetd');
  }
  if (r.remaining !== 0) throw new CloakError(CODE, 'TD report body has an unexpected size');
  return body;
}

function parseCertificationData(r: ByteReader): CertificationData {
  const type = r.u16le('certification data type');
  const size = r.u32le('certification data size');
  return { type, data: r.bytes(size, 'certification data') };
}

function parseQeReportCertificationData(r: ByteReader): QeReportCertificationData {
  const qeReport = r.bytes(SGX_BODY_LEN, 'QE report');
  const qeReportSignature = r.bytes(64, 'QE report signature');
  const authSize = r.u16le('QE auth data size');
  const qeAuthData = r.bytes(authSize, 'QE auth data');
  const certification = parseCertificationData(r);
  return {
    qeReport,
    qeReportParsed: parseSgxReportBody(qeReport, 'QE report'),
    qeReportSignature,
    qeAuthData,
    certification,
  };
}

/** Length fields are not signed: each must span its content exactly (padding is allowed only after the signature data). */
function exhausted(r: ByteReader, what: string): void {
  if (r.remaining !== 0) throw new CloakError(CODE, `${what} has ${r.remaining} unexpected bytes after its content`);
}

/** v4/v5 signature data: signature, key, then certification data that must be type 6 (QE report). */
function parseV4SignatureData(buf: Buffer): QuoteSignatureData {
  const r = new ByteReader(buf, CODE, 'quote signature data');
  const signature = r.bytes(64, 'quote signature');
  const attestationKey = r.bytes(64, 'attestation key');
  const outer = parseCertificationData(r);
  if (outer.type !== 6)
    throw new CloakError(
      CODE,
      `quote certification data type ${outer.type} is not supported (expected 6, QE report certification data)`,
    );
  const inner = new ByteReader(outer.data, CODE, 'QE report certification data');
  const qe = parseQeReportCertificationData(inner);
  exhausted(inner, 'QE report certification data');
  exhausted(r, 'quote signature data');
  return { signature, attestationKey, qe };
}

function parseV3SignatureData(buf: Buffer): QuoteSignatureData {
  const r = new ByteReader(buf, CODE, 'quote signature data');
  const signature = r.bytes(64, 'quote signature');
  const attestationKey = r.bytes(64, 'attestation key');
  const qe = parseQeReportCertificationData(r);
  exhausted(r, 'quote signature data');
  return { signature, attestationKey, qe };
}

/** Parses an SGX v3 or TDX v4/v5 ECDSA-P256 quote. Trailing bytes after the signature data are allowed. */
export function parseQuote(input: Uint8Array): Quote {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const r = new ByteReader(buf, CODE, 'quote');
  const header = parseHeader(r);
  if (header.attestationKeyType !== 2)
    throw new CloakError(CODE, `attestation key type ${header.attestationKeyType} is not ECDSA P-256 (2)`);
  let body: QuoteBody;
  if (header.version === 3) {
    if (header.teeType !== TEE_TYPE_SGX) throw new CloakError(CODE, 'a v3 quote must be an SGX quote');
    body = { kind: 'sgx', sgx: parseSgxReportBody(r.bytes(SGX_BODY_LEN, 'report body')) };
  } else if (header.version === 4) {
    if (header.teeType !== TEE_TYPE_TDX) throw new CloakError(CODE, 'only TDX v4 quotes are supported');
    body = { kind: 'td10', td: parseTdBody(r.bytes(TD10_BODY_LEN, 'TD report body'), 'td10') };
  } else if (header.version === 5) {
    const bodyType = r.u16le('body type');
    const bodySize = r.u32le('body size');
    if (bodyType === 2 && bodySize === TD10_BODY_LEN && header.teeType === TEE_TYPE_TDX) {
      body = { kind: 'td10', td: parseTdBody(r.bytes(bodySize, 'TD report body'), 'td10') };
    } else if (bodyType === 3 && bodySize === TD15_BODY_LEN && header.teeType === TEE_TYPE_TDX) {
      body = { kind: 'td15', td: parseTdBody(r.bytes(bodySize, 'TD report body'), 'td15') };
    } else if (bodyType === 1 && bodySize === SGX_BODY_LEN && header.teeType === TEE_TYPE_SGX) {
      body = { kind: 'sgx', sgx: parseSgxReportBody(r.bytes(bodySize, 'report body')) };
    } else {
      throw new CloakError(CODE, `v5 quote body type ${bodyType} with size ${bodySize} is not supported`);
    }
  } else {
    throw new CloakError(CODE, `quote version ${header.version} is not supported (3, 4 or 5)`);
  }
  const signedBytes = buf.subarray(0, r.offset);
  const sigLen = r.u32le('signature data length');
  const sigBuf = r.bytes(sigLen, 'signature data');
  const signatureData = header.version === 3 ? parseV3SignatureData(sigBuf) : parseV4SignatureData(sigBuf);
  return { header, body, signedBytes, signatureData, trailing: r.remaining };
}
