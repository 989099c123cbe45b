import { CloakError, type ErrorCode } from '../../lib/index.ts';
import type { PckExtensions } from './pck-extensions.ts';
import type { IsvLevel, QeIdentity, TcbInfo, TcbStatus } from './tcb-info.ts';
import type { SgxReportBody, TdReportBody } from './quote.ts';

/** Intel's TCB appraisal (Intel DCAP QVL rules): which TCB level a platform is at, with advisories. */

export interface TcbAppraisal {
  status: TcbStatus;
  advisoryIds: string[];
  platformStatus: TcbStatus;
  qeStatus: TcbStatus;
  tdxModuleStatus?: TcbStatus;
  tcbDate: string;
}

const fail = (code: ErrorCode, message: string): never => {
  throw new CloakError(code, message);
};

/** The first (highest) level whose SGX components, PCESVN and (for TDX) TEE_TCB_SVN all reach it. */
function platformLevel(info: TcbInfo, pck: PckExtensions, td?: TdReportBody) {
  for (const level of info.levels) {
    if (!level.sgxComponents.every((svn, i) => pck.tcbComponents[i]! >= svn)) continue;
    if (pck.pceSvn < level.pceSvn) continue;
    if (td) {
      // With a TDX module version (TEE_TCB_SVN[1] > 0) its first two bytes are judged by the module identity instead.
      const first = info.version > 2 && td.teeTcbSvn[1]! > 0 ? 2 : 0;
      if (!level.tdxComponents!.every((svn, i) => i < first || td.teeTcbSvn[i]! >= svn)) continue;
    }
    return level;
  }
  return fail(
    'DCAP_TCB_LEVEL_NOT_FOUND',
    `no TCB level of the TCB info for FMSPC ${info.fmspc} matches this platform's SVNs (its TCB is below every level Intel lists)`,
  );
}

function isvLevel(levels: IsvLevel[], isvSvn: number, code: ErrorCode, what: string): IsvLevel {
  return (
    levels.find((l) => isvSvn >= l.isvSvn) ?? fail(code, `${what} ISVSVN ${isvSvn} is below every level Intel lists`)
  );
}

function masked(value: Buffer, mask: Buffer): Buffer {
  const out = Buffer.allocUnsafe(value.length);
  for (let i = 0; i < value.length; i++) out[i] = value[i]! & (mask[i] ?? 0);
  return out;
}

/** Checks the QE report against the QE identity and returns its level. */
export function appraiseQe(identity: QeIdentity, qe: SgxReportBody): IsvLevel {
  if (!qe.mrSigner.equals(identity.mrSigner))
    fail('DCAP_QE_IDENTITY_MISMATCH', "the quoting enclave MRSIGNER is not Intel's");
  if (qe.isvProdId !== identity.isvProdId)
    fail('DCAP_QE_IDENTITY_MISMATCH', `the quoting enclave ISVPRODID ${qe.isvProdId} is not ${identity.isvProdId}`);
  if ((qe.miscSelect & identity.miscSelectMask) >>> 0 !== (identity.miscSelect & identity.miscSelectMask) >>> 0)
    fail('DCAP_QE_IDENTITY_MISMATCH', 'the quoting enclave MISCSELECT does not match its identity');
  if (!masked(qe.attributes, identity.attributesMask).equals(masked(identity.attributes, identity.attributesMask)))
    fail('DCAP_QE_IDENTITY_MISMATCH', 'the quoting enclave attributes do not match its identity');
  return isvLevel(identity.levels, qe.isvSvn, 'DCAP_QE_TCB_LEVEL_NOT_FOUND', 'the quoting enclave');
}

function tdxModuleLevel(info: TcbInfo, td: TdReportBody): IsvLevel | undefined {
  const version = td.teeTcbSvn[1]!;
  if (version === 0) {
    const m = info.tdxModule;
    if (m && (!td.mrSignerSeam.equals(m.mrSigner) || !masked(td.seamAttributes, m.attributesMask).equals(m.attributes)))
      fail('DCAP_TDX_MODULE_MISMATCH', 'the TDX module signer or attributes do not match the TCB info');
    return undefined;
  }
  const id = `TDX_${version.toString(16).toUpperCase().padStart(2, '0')}`;
  const m =
    info.tdxModuleIdentities.find((x) => x.id === id) ??
    fail('DCAP_TDX_MODULE_MISMATCH', `the TCB info has no identity for TDX module ${id}`);
  if (!td.mrSignerSeam.equals(m.mrSigner) || !masked(td.seamAttributes, m.attributesMask).equals(m.attributes))
    fail('DCAP_TDX_MODULE_MISMATCH', `the TDX module signer or attributes do not match ${id}`);
  return isvLevel(m.levels, td.teeTcbSvn[0]!, 'DCAP_TDX_MODULE_TCB_LEVEL_NOT_FOUND', `TDX module ${id}`);
}

/** Folds an out-of-date (or revoked) enclave/module status into the platform status, as Intel's QVL does. */
function converge(platform: TcbStatus, other: TcbStatus): TcbStatus {
  if (other === 'Revoked' || platform === 'Revoked') return 'Revoked';
  if (other === 'OutOfDate') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded')
      return 'OutOfDateConfigurationNeeded';
  }
  return platform;
}

export function appraiseTcb(
  info: TcbInfo,
  identity: QeIdentity,
  pck: PckExtensions,
  qe: SgxReportBody,
  td?: TdReportBody,
): TcbAppraisal {
  if (info.fmspc !== pck.fmspc.toString('hex'))
    fail(
      'DCAP_COLLATERAL_MISMATCH',
      `the TCB info is for FMSPC ${info.fmspc.toUpperCase()}, the PCK certificate's is ${pck.fmspc.toString('hex').toUpperCase()}`,
    );
  if (info.pceId !== pck.pceId.toString('hex'))
    fail('DCAP_COLLATERAL_MISMATCH', "the TCB info PCE-ID differs from the PCK certificate's");
  const qeLevel = appraiseQe(identity, qe);
  const level = platformLevel(info, pck, td);
  const moduleLevel = td ? tdxModuleLevel(info, td) : undefined;
  let status = converge(level.status, qeLevel.status);
  if (moduleLevel) status = converge(status, moduleLevel.status);
  const advisoryIds = [
    ...new Set([...level.advisoryIds, ...qeLevel.advisoryIds, ...(moduleLevel?.advisoryIds ?? [])]),
  ].sort();
  return {
    status,
    advisoryIds,
    platformStatus: level.status,
    qeStatus: qeLevel.status,
    tdxModuleStatus: moduleLevel?.status,
    tcbDate: level.tcbDate,
  };
}
