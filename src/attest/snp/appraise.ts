import { CloakError, constantTimeEqual, fromHex, isAllZero, toHex, type ErrorCode } from '../../lib/index.ts';
import { decodeTcb, type SnpReport } from './report.ts';

/** Minimum SPLs per TCB component (omitted components are not checked). */
export interface MinimumTcb {
  bootloader?: number;
  tee?: number;
  snp?: number;
  microcode?: number;
  fmc?: number;
}

/**
 * What a relying party requires of an SNP guest beyond a genuine report,
 * checked by the verifier when asked. All fields optional. A debuggable guest
 * is not refused here: it is reported (`debug: true`) and the attestation
 * policy decides, as for every TEE.
 */
export interface SnpPolicy {
  /** Accept guests that allow a migration agent (default true); false refuses them. */
  allowMigrationAgent?: boolean;
  /** Accept guests that allow SMT (default true); false refuses them. */
  allowSmt?: boolean;
  /** Required VMPL (exact), or the highest acceptable with maxVmpl. */
  vmpl?: number;
  maxVmpl?: number;
  /** Minimum reported TCB (the one the VEK is for). */
  minimumTcb?: MinimumTcb;
  minimumGuestSvn?: number;
  /** Expected values, hex or bytes; report-data is compared over its 64 bytes, host-data over 32. */
  reportData?: string | Uint8Array;
  hostData?: string | Uint8Array;
  /** Allowed launch measurements (hex, 48 bytes). */
  measurements?: string[];
  familyId?: string;
  imageId?: string;
  /** Allowed ID-key / author-key digests (hex, 48 bytes). */
  idKeyDigests?: string[];
  authorKeyDigests?: string[];
  /** Minimum firmware ABI of the guest policy. */
  minimumAbi?: { major: number; minor: number };
}

const refuse = (code: ErrorCode, message: string): never => {
  throw new CloakError(code, message);
};

const bytesOf = (v: string | Uint8Array, len: number, what: string): Buffer => {
  const b = typeof v === 'string' ? fromHex(v, 'SNP_POLICY_INVALID', what) : Buffer.from(v);
  if (b.length > len) refuse('SNP_POLICY_INVALID', `the expected ${what} is longer than ${len} bytes`);
  return Buffer.concat([b, Buffer.alloc(len - b.length)]);
};

const inList = (value: Buffer, list: string[]): boolean => list.some((h) => h.toLowerCase() === toHex(value));

/** Checks a verified report against a policy; throws a CloakError with an SNP_POLICY_* / *_MISMATCH code. */
export function appraiseSnp(report: SnpReport, policy: SnpPolicy, product: string): void {
  const p = report.policy;
  const flag = (n: number): boolean => ((p >> BigInt(n)) & 1n) === 1n;
  if (flag(18) && policy.allowMigrationAgent === false)
    refuse('SNP_POLICY_MIGRATION_AGENT', 'the guest allows a migration agent, which the policy refuses');
  if (flag(16) && policy.allowSmt === false) refuse('SNP_POLICY_SMT', 'the guest allows SMT, which the policy refuses');
  if (policy.vmpl !== undefined && report.vmpl !== policy.vmpl)
    refuse('SNP_POLICY_VMPL', `the report was requested at VMPL ${report.vmpl}, the policy requires ${policy.vmpl}`);
  if (policy.maxVmpl !== undefined && report.vmpl > policy.maxVmpl)
    refuse(
      'SNP_POLICY_VMPL',
      `the report was requested at VMPL ${report.vmpl}, the policy allows up to ${policy.maxVmpl}`,
    );
  if (policy.minimumAbi) {
    const major = Number((p >> 8n) & 0xffn);
    const minor = Number(p & 0xffn);
    if (major < policy.minimumAbi.major || (major === policy.minimumAbi.major && minor < policy.minimumAbi.minor)) {
      refuse(
        'SNP_POLICY_ABI',
        `the guest policy's minimum ABI ${major}.${minor} is below ${policy.minimumAbi.major}.${policy.minimumAbi.minor}`,
      );
    }
  }
  if (policy.minimumTcb) {
    const tcb = decodeTcb(report.reportedTcbRaw, product === 'Turin');
    for (const [k, min] of Object.entries(policy.minimumTcb) as [keyof MinimumTcb, number | undefined][]) {
      if (min === undefined) continue;
      const have = tcb[k];
      if (have === undefined || have < min)
        refuse(
          'SNP_POLICY_TCB',
          `the platform's ${k} SPL ${have ?? 'none'} is below the required ${min}: update the firmware`,
        );
    }
  }
  if (policy.minimumGuestSvn !== undefined && report.guestSvn < policy.minimumGuestSvn)
    refuse('SNP_POLICY_GUEST_SVN', `guest SVN ${report.guestSvn} is below ${policy.minimumGuestSvn}`);
  if (
    policy.reportData !== undefined &&
    !constantTimeEqual(report.reportData, bytesOf(policy.reportData, 64, 'report-data'))
  ) {
    refuse(
      'SNP_REPORT_DATA_MISMATCH',
      'the report-data is not the expected value: the evidence was made for another challenge or key',
    );
  }
  if (policy.hostData !== undefined && !constantTimeEqual(report.hostData, bytesOf(policy.hostData, 32, 'host-data'))) {
    refuse(
      'SNP_HOST_DATA_MISMATCH',
      'the host-data is not the expected value: the guest was launched with other init-data',
    );
  }
  if (policy.measurements && !inList(report.measurement, policy.measurements))
    refuse('SNP_POLICY_MEASUREMENT', `launch measurement ${toHex(report.measurement)} is not in the allow-list`);
  if (policy.familyId !== undefined && !bytesOf(policy.familyId, 16, 'family ID').equals(report.familyId))
    refuse('SNP_POLICY_FAMILY_ID', 'the family ID is not the expected one');
  if (policy.imageId !== undefined && !bytesOf(policy.imageId, 16, 'image ID').equals(report.imageId))
    refuse('SNP_POLICY_IMAGE_ID', 'the image ID is not the expected one');
  if (policy.idKeyDigests && (isAllZero(report.idKeyDigest) || !inList(report.idKeyDigest, policy.idKeyDigests)))
    refuse('SNP_POLICY_ID_KEY', 'the ID key digest is not an allowed one (or the guest has no ID block)');
  if (
    policy.authorKeyDigests &&
    ((report.keyInfo & 1) === 0 || !inList(report.authorKeyDigest, policy.authorKeyDigests))
  )
    refuse('SNP_POLICY_AUTHOR_KEY', 'the author key digest is not an allowed one (or no author key was used)');
}
