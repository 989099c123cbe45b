import { setTimeout as sleep } from 'node:timers/promises';
import { CloakError, padTo, toHex } from '../../lib/index.ts';
import { fitDigest } from '../../attest/binding.ts';
import { VTPM_BINDING_BYTES, makeTpmVerifier, spkiDer } from '../../attest/tpm/index.ts';
import { HCL_NV_INDEX, parseHclReport } from '../../attest/azure/index.ts';
import type { Attester } from '../kbs-client.ts';
import { AZURE_AK_HANDLE, HCL_USER_DATA_NV_INDEX, type TpmClient } from './tpm-client.ts';

const ALL_PCRS = Array.from({ length: 24 }, (_, i) => i);

/** CoCo `tpm` evidence: the AK (base64 DER SPKI), the quote (base64 TPMS_ATTEST and TPMT_SIGNATURE), PCRs 0..23 (hex). */
export async function collectTpmEvidence(
  tpm: TpmClient,
  bindingDigest: Buffer,
  opts: { akHandle?: number; bindingBytes?: 32 | 48 } = {},
): Promise<unknown> {
  const ak = await tpm.readPublic(opts.akHandle ?? AZURE_AK_HANDLE);
  // The nonce the verifier will expect, from the verifier itself.
  const nonce = makeTpmVerifier({ bindingBytes: opts.bindingBytes }).expectedReportData(bindingDigest);
  const q = await tpm.quote(opts.akHandle ?? AZURE_AK_HANDLE, nonce, ALL_PCRS);
  const pcrs = await tpm.pcrRead(ALL_PCRS);
  return {
    ak_public: spkiDer(ak.key).toString('base64'),
    tpm_quote: {
      message: q.message.toString('base64'),
      signature: q.signature.toString('base64'),
      pcrs: pcrs.map(toHex),
    },
  };
}

export interface AzVtpmOptions {
  kind: 'snp' | 'tdx';
  /** SNP: the VCEK (DER) for this chip; on Azure it comes from the instance metadata service. */
  vcek?: () => Promise<Buffer>;
  /** TDX: turns the TDREPORT from the HCL report into a TD quote (on Azure, the IMDS quote endpoint). */
  tdQuote?: (tdReport: Buffer) => Promise<Buffer>;
  /**
   * v2: write the nonce into NV 0x01400002 first so the HCL regenerates the
   * report with it as runtime-claims user-data; the HCL needs a moment
   * (CoCo waits about 3 s). Off gives v1 evidence.
   */
  bindUserData?: boolean;
  refreshDelayMs?: number;
  akHandle?: number;
  bindingBytes?: number;
}

/**
 * Azure CVM evidence in CoCo's v1/v2 shape: the HCL report from NV index
 * 0x01400001, a quote by the vTPM AK over PCRs 0..23 with the binding as
 * nonce, and the VCEK (SNP) or TD quote (TDX) the caller supplies.
 */
export async function collectAzVtpmEvidence(
  tpm: TpmClient,
  bindingDigest: Buffer,
  opts: AzVtpmOptions,
): Promise<{ evidence: Record<string, unknown>; hcl: Buffer }> {
  const nonce = fitDigest(bindingDigest, opts.bindingBytes ?? VTPM_BINDING_BYTES);
  if (opts.bindUserData) {
    await tpm.nvWrite(HCL_USER_DATA_NV_INDEX, padTo(nonce, 64));
    await sleep(opts.refreshDelayMs ?? 3000);
  }
  const hcl = await tpm.nvReadAll(HCL_NV_INDEX);
  const q = await tpm.quote(opts.akHandle ?? AZURE_AK_HANDLE, nonce, ALL_PCRS);
  if (q.parsedSignature.alg !== 'rsassa')
    throw new CloakError(
      'AGENT_TPM_AK_SCHEME',
      `the vTPM AK signed with ${q.parsedSignature.alg}; Azure evidence carries RSASSA signatures`,
    );
  const pcrs = await tpm.pcrRead(ALL_PCRS);
  const evidence: Record<string, unknown> = {
    version: opts.bindUserData ? 2 : 1,
    tpm_quote: { signature: toHex(q.parsedSignature.sig), message: toHex(q.message), pcrs: pcrs.map(toHex) },
    hcl_report: hcl.toString('base64url'),
  };
  if (opts.kind === 'snp') {
    if (!opts.vcek)
      throw new CloakError(
        'AGENT_AZ_VCEK',
        'az-snp-vtpm evidence needs the VCEK (from the Azure instance metadata service)',
      );
    evidence.vcek = (await opts.vcek()).toString('base64url');
  } else {
    if (!opts.tdQuote)
      throw new CloakError(
        'AGENT_AZ_TD_QUOTE',
        'az-tdx-vtpm evidence needs a TD quote source (the Azure instance metadata quote endpoint)',
      );
    evidence.td_quote = (await opts.tdQuote(parseHclReport(hcl).hwReport)).toString('base64url');
  }
  return { evidence, hcl };
}

/** An attester for the agent: `tpm` or `az-*-vtpm` evidence from a TPM opened per use. */
export function tpmAttester(
  tee: 'tpm' | 'az-snp-vtpm' | 'az-tdx-vtpm',
  open: () => Promise<TpmClient>,
  az?: Omit<AzVtpmOptions, 'kind'>,
): Attester {
  return {
    tee,
    async evidence(bindingDigest: Buffer): Promise<unknown> {
      const tpm = await open();
      try {
        if (tee === 'tpm') return await collectTpmEvidence(tpm, bindingDigest);
        return (await collectAzVtpmEvidence(tpm, bindingDigest, { ...az, kind: tee === 'az-snp-vtpm' ? 'snp' : 'tdx' }))
          .evidence;
      } finally {
        tpm.close();
      }
    },
  };
}
