import { createVerify, type X509Certificate } from 'node:crypto';
import { CloakError, type ErrorCode } from '../../lib/index.ts';

/** Intel TCB Info v3 and QE Identity v2 (the signed JSON bodies) and their signatures. */

export type TcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked';
export const TCB_STATUSES: readonly TcbStatus[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
];

export interface TcbLevel {
  sgxComponents: number[];
  pceSvn: number;
  tdxComponents?: number[];
  tcbDate: string;
  status: TcbStatus;
  advisoryIds: string[];
}

export interface IsvLevel {
  isvSvn: number;
  tcbDate: string;
  status: TcbStatus;
  advisoryIds: string[];
}

export interface TdxModuleIdentity {
  id: string;
  mrSigner: Buffer;
  attributes: Buffer;
  attributesMask: Buffer;
  levels: IsvLevel[];
}

export interface TcbInfo {
  id: 'SGX' | 'TDX';
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  fmspc: string;
  pceId: string;
  tcbEvaluationDataNumber: number;
  tdxModule?: { mrSigner: Buffer; attributes: Buffer; attributesMask: Buffer };
  tdxModuleIdentities: TdxModuleIdentity[];
  levels: TcbLevel[];
}

export interface QeIdentity {
  id: 'QE' | 'TD_QE' | string;
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  miscSelect: number;
  miscSelectMask: number;
  attributes: Buffer;
  attributesMask: Buffer;
  mrSigner: Buffer;
  isvProdId: number;
  levels: IsvLevel[];
}

const CODE = 'DCAP_COLLATERAL_MALFORMED';
type J = Record<string, unknown>;
const fail = (msg: string): never => {
  throw new CloakError(CODE, msg);
};
const obj = (v: unknown, what: string): J =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as J) : fail(`${what} must be an object`);
const arr = (v: unknown, what: string): unknown[] => (Array.isArray(v) ? v : fail(`${what} must be an array`));
const num = (v: unknown, what: string): number =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(`${what} must be a non-negative integer`);
const text = (v: unknown, what: string): string => (typeof v === 'string' ? v : fail(`${what} must be a string`));
const hex = (v: unknown, what: string, len: number): Buffer => {
  const s = text(v, what);
  if (s.length !== len * 2 || !/^[0-9a-fA-F]*$/.test(s)) fail(`${what} must be ${len} bytes of hex`);
  return Buffer.from(s, 'hex');
};
const date = (v: unknown, what: string): Date => {
  const d = new Date(text(v, what));
  return Number.isNaN(d.getTime()) ? fail(`${what} must be a date`) : d;
};
const status = (v: unknown, what: string): TcbStatus =>
  TCB_STATUSES.includes(v as TcbStatus) ? (v as TcbStatus) : fail(`${what} "${String(v)}" is not a known TCB status`);
const advisories = (v: unknown): string[] =>
  v === undefined ? [] : arr(v, 'advisoryIDs').map((a) => text(a, 'advisory ID'));
const svns = (v: unknown, what: string): number[] => {
  const a = arr(v, what);
  if (a.length !== 16) fail(`${what} must have 16 components`);
  return a.map((c, i) => num(obj(c, `${what}[${i}]`).svn, `${what}[${i}].svn`));
};

function parseJson(body: string, what: string): J {
  try {
    return obj(JSON.parse(body), what);
  } catch (e) {
    if (e instanceof CloakError) throw e;
    return fail(`${what} is not valid JSON`);
  }
}

function isvLevels(v: unknown, what: string): IsvLevel[] {
  return arr(v, what).map((l, i) => {
    const level = obj(l, `${what}[${i}]`);
    return {
      isvSvn: num(obj(level.tcb, 'tcb').isvsvn, 'isvsvn'),
      tcbDate: text(level.tcbDate, 'tcbDate'),
      status: status(level.tcbStatus, 'tcbStatus'),
      advisoryIds: advisories(level.advisoryIDs),
    };
  });
}

export function parseTcbInfo(body: string): TcbInfo {
  const t = parseJson(body, 'TCB info');
  const id = text(t.id, 'TCB info id');
  if (id !== 'SGX' && id !== 'TDX') fail(`TCB info id "${id}" is not SGX or TDX`);
  const version = num(t.version, 'TCB info version');
  if (version !== 3) fail(`TCB info version ${version} is not supported (3)`);
  const levels = arr(t.tcbLevels, 'tcbLevels').map((l, i): TcbLevel => {
    const level = obj(l, `tcbLevels[${i}]`);
    const tcb = obj(level.tcb, 'tcb');
    return {
      sgxComponents: svns(tcb.sgxtcbcomponents, 'sgxtcbcomponents'),
      pceSvn: num(tcb.pcesvn, 'pcesvn'),
      tdxComponents: id === 'TDX' ? svns(tcb.tdxtcbcomponents, 'tdxtcbcomponents') : undefined,
      tcbDate: text(level.tcbDate, 'tcbDate'),
      status: status(level.tcbStatus, 'tcbStatus'),
      advisoryIds: advisories(level.advisoryIDs),
    };
  });
  const mod = t.tdxModule === undefined ? undefined : obj(t.tdxModule, 'tdxModule');
  return {
    id: id as 'SGX' | 'TDX',
    version,
    issueDate: date(t.issueDate, 'issueDate'),
    nextUpdate: date(t.nextUpdate, 'nextUpdate'),
    fmspc: hex(t.fmspc, 'fmspc', 6).toString('hex'),
    pceId: hex(t.pceId, 'pceId', 2).toString('hex'),
    tcbEvaluationDataNumber: num(t.tcbEvaluationDataNumber, 'tcbEvaluationDataNumber'),
    tdxModule: mod && {
      mrSigner: hex(mod.mrsigner, 'tdxModule.mrsigner', 48),
      attributes: hex(mod.attributes, 'tdxModule.attributes', 8),
      attributesMask: hex(mod.attributesMask, 'tdxModule.attributesMask', 8),
    },
    tdxModuleIdentities:
      t.tdxModuleIdentities === undefined
        ? []
        : arr(t.tdxModuleIdentities, 'tdxModuleIdentities').map((m, i) => {
            const mi = obj(m, `tdxModuleIdentities[${i}]`);
            return {
              id: text(mi.id, 'id'),
              mrSigner: hex(mi.mrsigner, 'mrsigner', 48),
              attributes: hex(mi.attributes, 'attributes', 8),
              attributesMask: hex(mi.attributesMask, 'attributesMask', 8),
              levels: isvLevels(mi.tcbLevels, 'tcbLevels'),
            };
          }),
    levels,
  };
}

export function parseQeIdentity(body: string): QeIdentity {
  const q = parseJson(body, 'QE identity');
  const version = num(q.version, 'QE identity version');
  if (version !== 2) fail(`QE identity version ${version} is not supported (2)`);
  return {
    id: text(q.id, 'QE identity id'),
    version,
    issueDate: date(q.issueDate, 'issueDate'),
    nextUpdate: date(q.nextUpdate, 'nextUpdate'),
    miscSelect: hex(q.miscselect, 'miscselect', 4).readUInt32BE(0),
    miscSelectMask: hex(q.miscselectMask, 'miscselectMask', 4).readUInt32BE(0),
    attributes: hex(q.attributes, 'attributes', 16),
    attributesMask: hex(q.attributesMask, 'attributesMask', 16),
    mrSigner: hex(q.mrsigner, 'mrsigner', 32),
    isvProdId: num(q.isvprodid, 'isvprodid'),
    levels: isvLevels(q.tcbLevels, 'tcbLevels'),
  };
}

/** Verifies a hex r‖s ECDSA P-256 signature over the exact body bytes with the signing certificate. */
export function verifyCollateralSignature(
  body: string,
  signatureHex: string,
  signer: X509Certificate,
  code: ErrorCode,
  what: string,
): void {
  const sig = /^[0-9a-fA-F]{128}$/.test(signatureHex) ? Buffer.from(signatureHex, 'hex') : undefined;
  const ok =
    sig !== undefined &&
    createVerify('sha256').update(body, 'utf8').verify({ key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, sig);
  if (!ok) throw new CloakError(code, `the ${what} signature does not verify with the Intel TCB signing certificate`);
}
