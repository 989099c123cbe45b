import { X509Certificate } from 'node:crypto';
import { CloakError, fromBase64, type ErrorCode } from '../../lib/index.ts';
import type { CollateralSource, DcapTrust, VerifyContext } from '../types.ts';
import { cached, cacheSlot, derived, type VerifyCache } from '../cache.ts';
import { gatheredCollateral } from './collateral-cache.ts';
import { appraiseTcb, type TcbAppraisal } from './appraise.ts';
import { loadQuoteCollateral, type DcapTee, type QuoteCollateral } from './collateral.ts';
import {
  applyCollateral,
  collateralDocuments,
  verifyQuoteSignatures,
  type SignedQuote,
  type VerifiedCollateral,
} from './verify.ts';

export type { DcapTrust };

export interface DcapVerifyOptions {
  now: Date;
  collateral?: QuoteCollateral;
  source?: CollateralSource;
  /** Replaces the pinned Intel SGX Root CA (tests, pre-production). */
  root?: X509Certificate;
  cache?: VerifyCache;
}

export interface DcapVerified extends SignedQuote, VerifiedCollateral {
  tcb: TcbAppraisal;
  warnings: string[];
}

/** Parse → signatures and PCK chain → collateral → Intel TCB appraisal (its status is a claim: the attestation policy decides on it). */
export async function verifyDcapQuote(bytes: Uint8Array, tee: DcapTee, opts: DcapVerifyOptions): Promise<DcapVerified> {
  const signed = verifyQuoteSignatures(bytes, tee, opts.now, opts.root, opts.cache);
  let collateral = opts.collateral;
  if (!collateral && opts.source) {
    const gathered = gatheredCollateral(
      opts.source,
      tee,
      signed.pck.fmspc.toString('hex'),
      signed.pckCa,
      opts.now,
      opts.cache,
    );
    collateral = gathered instanceof Promise ? await gathered : gathered;
  }
  if (!collateral)
    throw new CloakError(
      'DCAP_COLLATERAL_UNAVAILABLE',
      `no Intel collateral for FMSPC ${signed.pck.fmspc.toString('hex').toUpperCase()}: pass --collateral DIR|FILE.json or configure a collateral source`,
    );
  const pending = collateralDocuments(collateral, tee, opts.now, opts.root, opts.cache);
  const { tcbInfo, qeIdentity } = applyCollateral(signed, pending instanceof Promise ? await pending : pending);
  const q = signed.quote;
  const tcb = appraiseTcb(
    tcbInfo,
    qeIdentity,
    signed.pck,
    q.signatureData.qe.qeReportParsed,
    q.body.kind === 'sgx' ? undefined : q.body.td,
  );
  const warnings =
    tcb.status === 'UpToDate'
      ? []
      : [`TCB status ${tcb.status}${tcb.advisoryIds.length ? `: ${tcb.advisoryIds.join(', ')}` : ''}`];
  return {
    quote: q,
    pckChain: signed.pckChain,
    pck: signed.pck,
    pckCa: signed.pckCa,
    tcbInfo,
    qeIdentity,
    tcb,
    warnings,
  };
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

/** Trust collateral in this module's form, per object handed in (kept as one object, the documents' cache stays hot). */
const LOADED = cacheSlot<QuoteCollateral>('dcap.trust-collateral', 0);
const ROOTS = cacheSlot<X509Certificate>('dcap.trust-root', 8);

/** Reads `ctx.trust.dcap` and builds the options for `verifyDcapQuote`. */
export function dcapOptionsFrom(ctx: VerifyContext): DcapVerifyOptions {
  const trust = ctx.trust?.dcap ?? {};
  const c = trust.collateral;
  return {
    now: ctx.now,
    collateral:
      c === undefined
        ? undefined
        : derived(ctx.cache, LOADED, c, () => loadQuoteCollateral(c as Record<string, unknown>)),
    source: ctx.collateral,
    root:
      trust.rootCaPem === undefined
        ? undefined
        : cached(ctx.cache, ROOTS, trust.rootCaPem, () => new X509Certificate(trust.rootCaPem!)),
    cache: ctx.cache,
  };
}

/** CoCo evidence (`{"quote": base64, …}`) or raw quote bytes → quote bytes. */
export function quoteBytesFrom(evidence: unknown, code: ErrorCode): Buffer {
  if (evidence instanceof Uint8Array) return Buffer.from(evidence);
  if (
    evidence &&
    typeof evidence === 'object' &&
    !Array.isArray(evidence) &&
    typeof (evidence as Record<string, unknown>).quote === 'string'
  ) {
    return fromBase64((evidence as Record<string, string>).quote!, code, 'the evidence "quote"');
  }
  throw new CloakError(code, 'evidence must be {"quote": "<base64>"} (CoCo) or the raw quote bytes');
}
