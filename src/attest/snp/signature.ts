import { verify, type KeyObject } from 'node:crypto';
import { CloakError, isAllZero } from '../../lib/index.ts';
import { SIG_ALGO_ECDSA_P384_SHA384, type SnpReport } from './report.ts';

const fail = (message: string): never => {
  throw new CloakError('SNP_SIGNATURE_INVALID', message);
};

/** r or s: 72 bytes little-endian with 48 significant bytes → 48 bytes big-endian. */
function scalar(le: Buffer, name: string): Buffer {
  if (!isAllZero(le.subarray(48))) fail(`the report signature's ${name} has non-zero bytes beyond 48`);
  return Buffer.from(le.subarray(0, 48)).reverse();
}

/** Checks the report's ECDSA P-384 / SHA-384 signature over bytes 0x000..0x2A0 with the VEK's public key. */
export function verifyReportSignature(report: SnpReport, vekKey: KeyObject): void {
  if (report.sigAlgo !== SIG_ALGO_ECDSA_P384_SHA384)
    fail(`signature algorithm ${report.sigAlgo} is not ECDSA P-384 with SHA-384 (1)`);
  const p1363 = Buffer.concat([scalar(report.signatureR, 'r'), scalar(report.signatureS, 's')]);
  let ok = false;
  try {
    ok = verify('sha384', report.signed, { key: vekKey, dsaEncoding: 'ieee-p1363' }, p1363);
  } catch (e) {
    throw new CloakError('SNP_SIGNATURE_INVALID', "the report signature could not be checked with the VEK's key", {
      cause: e,
    });
  }
  if (!ok)
    fail("the report's signature does not verify with the VEK: the report was altered or the VEK is not the chip's");
}
