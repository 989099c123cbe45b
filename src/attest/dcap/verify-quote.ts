import { X509Certificate } from 'node:crypto';
import { CloakError, fromBase64, type ErrorCode } from '../../lib/index.ts';
import type { CollateralSource, VerifyContext } from '../types.ts';
import { gatheredCollateral } from './collateral-cache.ts';
import { appraiseTcb, type TcbAppraisal } from './appraise.ts';
import { loadQuoteCollateral, type DcapTee, type QuoteCollateral } from './collateral.ts';
import type { TcbStatus } from './tcb-info.ts';
import { applyCollateral, collateralDocuments, verifyQuoteSignatures, type SignedQuote, type VerifiedCollateral } from './verify.ts';

/** Trust settings read from `ctx.trust.dcap`. */
export interface DcapTrust {
  /** Collateral to use instead of `ctx.collateral` (this module's form or dcap-qvl's JSON object). */
  collateral?: QuoteCollateral | Record<string, unknown>;
  /** TCB statuses accepted; default UpToDate and SWHardeningNeeded (the latter with a warning). */
  acceptedTcbStatuses?: TcbStatus[];
  /** Accept debug TDs / enclaves (never in production). */
  allowDebug?: boolean;
  /** PEM of a root to trust instead of the pinned Intel SGX Root CA (Intel pre-production, or self-made test chains). */
  rootCaPem?: string;
}

export const DEFAULT_ACCEPTED_TCB_STATUSES: readonly TcbStatus[] = ['UpToDate', 'SWHardeningNeeded'];

export interface DcapVerifyOptions {
  now: Date;
  collateral?: QuoteCollateral;
  source?: CollateralSource;
  acceptedTcbStatuses?: readonly TcbStatus[];
  /** Replaces the pinned Intel SGX Root CA (tests, pre-production). */
  root?: X509Certificate;
}

export interface DcapVerified extends SignedQuote, VerifiedCollateral {
  tcb: TcbAppraisal;
  warnings: string[];
}

/** Parse → signatures and PCK chain → collateral → Intel TCB appraisal → status policy. */
export async function verifyDcapQuote(bytes: Uint8Array, tee: DcapTee, opts: DcapVerifyOptions): Promise<DcapVerified> {
  const signed = verifyQuoteSignatures(bytes, tee, opts.now, opts.root);
  let collateral = opts.collateral;
  if (!collateral && opts.source) {
    const gathered = gatheredCollateral(opts.source, tee, signed.pck.fmspc.toString('hex'), signed.pckCa, opts.now);
    collateral = gathered instanceof Promise ? await gathered : gathered;
  }
  if (!collateral) throw new CloakError('DCAP_COLLATERAL_UNAVAILABLE', `no Intel collateral for FMSPC ${signed.pck.fmspc.toString('hex').toUpperCase()}: pass --collateral DIR|FILE.json or configure a collateral source`);
  const pending = collateralDocuments(collateral, tee, opts.now, opts.root);
  const { tcbInfo, qeIdentity } = applyCollateral(signed, pending instanceof Promise ? await pending : pending);
  const q = signed.quote;
  const tcb = appraiseTcb(tcbInfo, qeIdentity, signed.pck, q.signatureData.qe.qeReportParsed, q.body.kind === 'sgx' ? undefined : q.body.td);
  const accepted = opts.acceptedTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES;
  if (!accepted.includes(tcb.status)) {
    throw new CloakError('DCAP_TCB_STATUS_REJECTED', `the platform TCB status is ${tcb.status}${tcb.advisoryIds.length ? ` (${tcb.advisoryIds.join(', ')})` : ''}, not one of ${accepted.join(', ')}: update the platform, or accept this status in policy`, { details: { tcbStatus: tcb.status, advisoryIds: tcb.advisoryIds } });
  }
  const warnings = tcb.status === 'UpToDate' ? [] : [`TCB status ${tcb.status}${tcb.advisoryIds.length ? `: ${tcb.advisoryIds.join(', ')}` : ''}`];
  return { quote: q, pckChain: signed.pckChain, pck: signed.pck, pckCa: signed.pckCa, tcbInfo, qeIdentity, tcb, warnings };
}

/** The claims every DCAP quote has, whatever its TEE: the platform, its TCB status by Intel's rules, the warnings. */
export function dcapPlatformClaims(v: DcapVerified): Record<string, unknown> {
  return {
    fmspc: v.pck.fmspc.toString('hex').toUpperCase(),
    tcb_status: v.tcb.status,
    advisory_ids: v.tcb.advisoryIds,
    tcb_date: v.tcb.tcbDate,
    qe_tcb_status: v.tcb.qeStatus,
    ...(v.tcb.tdxModuleStatus ? { tdx_module_tcb_status: v.tcb.tdxModuleStatus } : {}),
    warnings: v.warnings,
  };
}

const loaded = new WeakMap<object, QuoteCollateral>();
function collateralFromTrust(c: QuoteCollateral | Record<string, unknown>): QuoteCollateral {
  let q = loaded.get(c);
  if (!q) { q = loadQuoteCollateral(c as Record<string, unknown>); loaded.set(c, q); }
  return q;
}

/** Reads `ctx.trust.dcap` and builds the options for `verifyDcapQuote`. */
export function dcapOptionsFrom(ctx: VerifyContext): DcapVerifyOptions & { allowDebug: boolean } {
  const trust = (ctx.trust?.dcap ?? {}) as DcapTrust;
  const c = trust.collateral;
  return {
    now: ctx.now,
    collateral: c === undefined ? undefined : collateralFromTrust(c),
    source: ctx.collateral,
    acceptedTcbStatuses: trust.acceptedTcbStatuses,
    allowDebug: trust.allowDebug === true,
    root: trust.rootCaPem === undefined ? undefined : new X509Certificate(trust.rootCaPem),
  };
}

/** CoCo evidence (`{"quote": base64, …}`) or raw quote bytes → quote bytes. */
export function quoteBytesFrom(evidence: unknown, code: ErrorCode): Buffer {
  if (evidence instanceof Uint8Array) return Buffer.from(evidence);
  if (evidence && typeof evidence === 'object' && !Array.isArray(evidence) && typeof (evidence as Record<string, unknown>).quote === 'string') {
    return fromBase64((evidence as Record<string, string>).quote!, code, 'the evidence "quote"');
  }
  throw new CloakError(code, 'evidence must be {"quote": "<base64>"} (CoCo) or the raw quote bytes');
}
