import { CloakError } from '../../lib/index.ts';
import type { SnpTrust, VerifiedEvidence, VerifyContext } from '../types.ts';
import { appraiseSnp } from './appraise.ts';
import { verifyVekChain, type VerifiedChain } from './chain.ts';
import { snpClaims } from './claims.ts';
import { parseSnpEvidence } from './evidence.ts';
import { crlUrl, vcekUrl, vlekUrl } from './kds.ts';
import { productFromCpuid, productFromName } from './product.ts';
import { decodeTcb, parseReport, signingKey, type SnpReport } from './report.ts';
import { AMD_ROOTS } from './roots/index.ts';
import { verifyReportSignature } from './signature.ts';
import { checkVekMatchesReport } from './tcb.ts';
import { parseVek, type Vek } from './vek.ts';

export type { SnpTrust };

export interface SnpVerification {
  report: SnpReport;
  vek: Vek;
  chain: VerifiedChain;
  claims: Record<string, unknown>;
}

const snpTrust = (ctx: VerifyContext): SnpTrust => ctx.trust?.snp ?? {};

async function findVek(
  report: SnpReport,
  certs: Map<string, Buffer>,
  trust: SnpTrust,
  ctx: VerifyContext,
  products: string[],
): Promise<Vek> {
  const kind = signingKey(report);
  if (kind !== 'VCEK' && kind !== 'VLEK') {
    throw new CloakError(
      'SNP_REPORT_UNSIGNED',
      `the report's key-info says it is signed by ${kind === 'none' ? 'no key' : 'a reserved key'}; it proves nothing`,
    );
  }
  const given = trust.vek ?? certs.get(kind);
  if (given !== undefined) return parseVek(given, ctx.cache);
  const cpu = productFromCpuid(report);
  for (const product of cpu ? [cpu] : products) {
    const tcb = decodeTcb(report.reportedTcbRaw, product === 'Turin');
    const body = await ctx.collateral?.get(
      kind === 'VLEK' ? vlekUrl(product, report, tcb) : vcekUrl(product, report, tcb),
    );
    if (body) return parseVek(body, ctx.cache);
  }
  throw new CloakError(
    'SNP_VEK_MISSING',
    `no ${kind} for this report: pass it (--vek), include it in the evidence's cert_chain, or provide AMD KDS collateral`,
  );
}

/**
 * Verifies SEV-SNP evidence end to end: parse, VEK (given, in the evidence,
 * or from KDS collateral), VEK ← ASK/ASVK ← ARK with the CRL, the report
 * signature, VEK TCB and hwID against the report, then the appraisal policy.
 */
export async function verifySnp(evidence: unknown, ctx: VerifyContext): Promise<SnpVerification> {
  const trust = snpTrust(ctx);
  const roots = trust.roots ?? AMD_ROOTS;
  const { report: raw, certs } = parseSnpEvidence(evidence);
  const report = parseReport(raw);
  const vek = await findVek(report, certs, trust, ctx, Object.keys(roots));
  if (vek.kind !== signingKey(report)) {
    throw new CloakError(
      'SNP_VEK_KIND_MISMATCH',
      `the report is signed by a ${signingKey(report)} but a ${vek.kind} was supplied`,
    );
  }
  const reportProduct = productFromCpuid(report);
  const hinted = reportProduct ?? productFromName(vek.productName);
  let crl = hinted ? trust.crls?.[hinted] : undefined;
  if (!crl && hinted) crl = await ctx.collateral?.get(crlUrl(hinted, vek.kind));
  const chain = verifyVekChain(vek, reportProduct, roots, ctx.now, crl, ctx.cache);
  if (!chain.crlChecked && trust.requireCrl) {
    throw new CloakError(
      'SNP_CRL_MISSING',
      `no AMD CRL for ${chain.product} is available and the policy requires one: provide collateral`,
    );
  }
  verifyReportSignature(report, vek.cert.publicKey);
  checkVekMatchesReport(vek, report, chain.product);
  appraiseSnp(report, trust.policy ?? {}, chain.product);
  const claims = snpClaims(report, chain.product, { vek: vek.kind, crl_checked: chain.crlChecked });
  return { report, vek, chain, claims };
}

export async function verifySnpEvidence(evidence: unknown, ctx: VerifyContext): Promise<VerifiedEvidence> {
  const v = await verifySnp(evidence, ctx);
  return {
    tee: 'snp',
    insecure: false,
    claims: v.claims,
    reportData: Buffer.from(v.report.reportData),
    initData: Buffer.from(v.report.hostData),
  };
}

/** For wrappers that carry a raw report and its VCEK (Azure's HCL report): same checks, VEK given. */
export async function verifySnpReport(
  input: { report: Buffer; vcek: Buffer },
  ctx: VerifyContext,
): Promise<VerifiedEvidence> {
  const trust = snpTrust(ctx);
  return verifySnpEvidence(input.report, { ...ctx, trust: { ...ctx.trust, snp: { ...trust, vek: input.vcek } } });
}
