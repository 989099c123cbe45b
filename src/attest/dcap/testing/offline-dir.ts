import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collateralFileName, pcsUrls, type DcapTee, type PckCa } from '../collateral.ts';

/**
 * Writes dcap-qvl's collateral JSON (the real captures' form) as a fresh
 * offline directory of Intel PCS v4 responses, one file per URL, the layout
 * `cloak serve --collateral DIR` reads. The caller removes the directory.
 */
export function writeOfflineCollateralDir(qvl: Record<string, string>, tee: DcapTee, fmspc: string, ca: PckCa): string {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-dcap-'));
  const u = pcsUrls(tee, fmspc, ca);
  const files: [string, string | Buffer][] = [
    [u.tcb, `{"tcbInfo":${qvl.tcb_info},"signature":"${qvl.tcb_info_signature}"}`],
    [u.tcbIssuerChain, encodeURIComponent(qvl.tcb_info_issuer_chain!)],
    [u.qe, `{"enclaveIdentity":${qvl.qe_identity},"signature":"${qvl.qe_identity_signature}"}`],
    [u.qeIssuerChain, qvl.qe_identity_issuer_chain!],
    [u.pckCrl, Buffer.from(qvl.pck_crl!, 'hex')],
    [u.pckCrlIssuerChain, qvl.pck_crl_issuer_chain!],
    [u.rootCaCrl, Buffer.from(qvl.root_ca_crl!, 'hex')],
  ];
  for (const [url, body] of files) writeFileSync(join(dir, collateralFileName(url)), body);
  return dir;
}
