import { X509Certificate } from 'node:crypto';
import { CloakError } from '../../lib/index.ts';
import type { CollateralSource } from '../types.ts';
import { loadQuoteCollateral, pcsUrls, type DcapTee, type PckCa, type QuoteCollateral } from '../dcap/collateral.ts';
import { staticCollateral } from './compose.ts';

const fail = (message: string): never => {
  throw new CloakError('DCAP_COLLATERAL_MALFORMED', message);
};

/** A CRL as PCS serves it: DER bytes (hex text decoded; PEM kept, the verifier reads both). */
const crlBytes = (crl: Uint8Array | string): Buffer =>
  typeof crl !== 'string'
    ? Buffer.from(crl)
    : /^[0-9a-fA-F]+$/.test(crl.trim())
      ? Buffer.from(crl.trim(), 'hex')
      : Buffer.from(crl);

/** Collateral (dcap-qvl's JSON form) as the Intel PCS v4 responses it came from, one body per URL (issuer chains as `URL#Header-Name`). */
export function qvlResponses(c: QuoteCollateral, tee: DcapTee, fmspc: string, ca: PckCa): Array<[string, Buffer]> {
  const u = pcsUrls(tee, fmspc, ca);
  return [
    [u.tcb, Buffer.from(`{"tcbInfo":${c.tcbInfo},"signature":"${c.tcbInfoSignature}"}`)],
    [u.tcbIssuerChain, Buffer.from(encodeURIComponent(c.tcbInfoIssuerChain))],
    [u.qe, Buffer.from(`{"enclaveIdentity":${c.qeIdentity},"signature":"${c.qeIdentitySignature}"}`)],
    [u.qeIssuerChain, Buffer.from(c.qeIdentityIssuerChain)],
    [u.pckCrl, crlBytes(c.pckCrl)],
    [u.pckCrlIssuerChain, Buffer.from(c.pckCrlIssuerChain)],
    [u.rootCaCrl, crlBytes(c.rootCaCrl)],
  ];
}

/**
 * A collateral file an operator hands in (dcap-qvl's JSON: one platform's
 * TCB info, QE identity, CRLs and issuer chains) as a source answering the
 * PCS URLs that platform's quotes ask for: the TEE and FMSPC come from its
 * TCB info, the PCK CA from its CRL issuer chain.
 */
export function qvlCollateral(json: Uint8Array | string): CollateralSource {
  const c = loadQuoteCollateral(json);
  let info: { id?: unknown; fmspc?: unknown };
  try {
    info = JSON.parse(c.tcbInfo) as typeof info;
  } catch {
    return fail("the collateral file's tcb_info is not valid JSON");
  }
  const fmspc =
    typeof info.fmspc === 'string' && /^[0-9a-fA-F]{12}$/.test(info.fmspc)
      ? info.fmspc
      : fail("the collateral file's tcb_info has no FMSPC");
  const tee: DcapTee = info.id === 'TDX' ? 'tdx' : 'sgx';
  return staticCollateral(pckCaOf(c.pckCrlIssuerChain).flatMap((ca) => qvlResponses(c, tee, fmspc, ca)));
}

/** The PCK CA a CRL issuer chain's first certificate names; both when it names neither (the CRL's issuer is checked on use). */
function pckCaOf(chain: string): PckCa[] {
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(chain)?.[0];
  let subject = '';
  try {
    subject = pem ? new X509Certificate(pem).subject : '';
  } catch {
    /* both */
  }
  if (/PCK Platform CA/.test(subject)) return ['platform'];
  if (/PCK Processor CA/.test(subject)) return ['processor'];
  return ['platform', 'processor'];
}
