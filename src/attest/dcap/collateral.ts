import { CloakError } from '../../lib/index.ts';
import type { CollateralSource } from '../collateral-source.ts';

/**
 * Everything a DCAP quote needs besides itself, in the shape of dcap-qvl's
 * collateral JSON. `tcbInfo` and `qeIdentity` are the exact JSON text of the
 * signed bodies (the signature covers those bytes, so they stay text).
 */
export interface QuoteCollateral {
  pckCrlIssuerChain: string;
  /** DER (or hex of DER / PEM) of the Intel SGX Root CA CRL. */
  rootCaCrl: Uint8Array | string;
  /** DER (or hex of DER / PEM) of the PCK Processor/Platform CA CRL. */
  pckCrl: Uint8Array | string;
  tcbInfoIssuerChain: string;
  tcbInfo: string;
  /** Hex of the 64-byte r‖s ECDSA P-256 signature over `tcbInfo`. */
  tcbInfoSignature: string;
  qeIdentityIssuerChain: string;
  qeIdentity: string;
  qeIdentitySignature: string;
}

const CODE = 'DCAP_COLLATERAL_MALFORMED';
const fail = (msg: string): never => {
  throw new CloakError(CODE, msg);
};

function str(o: Record<string, unknown>, ...names: string[]): string {
  for (const n of names) if (typeof o[n] === 'string') return o[n] as string;
  return fail(`collateral is missing "${names[0]}"`);
}

/** Loads collateral from dcap-qvl's JSON form (snake_case) or this module's camelCase form. */
export function loadQuoteCollateral(json: string | Uint8Array | Record<string, unknown>): QuoteCollateral {
  let o: unknown = json;
  if (typeof json === 'string' || json instanceof Uint8Array) {
    try {
      o = JSON.parse(typeof json === 'string' ? json : Buffer.from(json).toString('utf8'));
    } catch {
      fail('collateral is not valid JSON');
    }
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return fail('collateral must be a JSON object');
  const r = o as Record<string, unknown>;
  const bin = (...names: string[]): Uint8Array | string => {
    for (const n of names)
      if (typeof r[n] === 'string' || r[n] instanceof Uint8Array) return r[n] as Uint8Array | string;
    return fail(`collateral is missing "${names[0]}"`);
  };
  return {
    pckCrlIssuerChain: str(r, 'pck_crl_issuer_chain', 'pckCrlIssuerChain'),
    rootCaCrl: bin('root_ca_crl', 'rootCaCrl'),
    pckCrl: bin('pck_crl', 'pckCrl'),
    tcbInfoIssuerChain: str(r, 'tcb_info_issuer_chain', 'tcbInfoIssuerChain'),
    tcbInfo: str(r, 'tcb_info', 'tcbInfo'),
    tcbInfoSignature: str(r, 'tcb_info_signature', 'tcbInfoSignature'),
    qeIdentityIssuerChain: str(r, 'qe_identity_issuer_chain', 'qeIdentityIssuerChain'),
    qeIdentity: str(r, 'qe_identity', 'qeIdentity'),
    qeIdentitySignature: str(r, 'qe_identity_signature', 'qeIdentitySignature'),
  };
}

/**
 * The exact text of the value of `key` in a PCS response such as
 * `{"tcbInfo":{…},"signature":"…"}`: the signature covers those bytes, so
 * re-serialising the parsed object would be wrong.
 */
export function extractSignedBody(response: string, key: string): { body: string; signature: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(response);
  } catch {
    fail(`the ${key} response is not valid JSON`);
  }
  const sig = (parsed as Record<string, unknown> | null)?.signature;
  if (typeof sig !== 'string') fail(`the ${key} response has no "signature"`);
  const start = response.indexOf(`"${key}"`);
  if (start < 0) fail(`the ${key} response has no "${key}"`);
  const open = response.indexOf('{', start);
  let depth = 0;
  let inString = false;
  for (let i = open; i >= 0 && i < response.length; i++) {
    const c = response[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return { body: response.slice(open, i + 1), signature: sig as string };
  }
  return fail(`the ${key} response is not a complete JSON object`);
}

export type DcapTee = 'sgx' | 'tdx';
export type PckCa = 'processor' | 'platform';

const PCS = 'https://api.trustedservices.intel.com';
export const ROOT_CA_CRL_URL = 'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der';

/** Intel PCS v4 URLs for a platform. Issuer chains come from response headers, asked for as `URL#Header-Name`. */
export function pcsUrls(tee: DcapTee, fmspc: string, ca: PckCa) {
  const tcb = `${PCS}/${tee}/certification/v4/tcb?fmspc=${fmspc.toUpperCase()}`;
  const qe = `${PCS}/${tee}/certification/v4/qe/identity`;
  const pckCrl = `${PCS}/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`;
  return {
    tcb,
    tcbIssuerChain: `${tcb}#TCB-Info-Issuer-Chain`,
    qe,
    qeIssuerChain: `${qe}#SGX-Enclave-Identity-Issuer-Chain`,
    pckCrl,
    pckCrlIssuerChain: `${pckCrl}#SGX-PCK-CRL-Issuer-Chain`,
    rootCaCrl: ROOT_CA_CRL_URL,
  };
}

/**
 * Gathers collateral from a CollateralSource by PCS v4 URL. A network
 * source answers `URL#Header-Name` with that response header's value
 * (URL-decoded PEM); an offline directory stores it as a file.
 */
export async function fetchQuoteCollateral(
  source: CollateralSource,
  tee: DcapTee,
  fmspc: string,
  ca: PckCa,
): Promise<QuoteCollateral> {
  const urls = pcsUrls(tee, fmspc, ca);
  const get = async (url: string): Promise<Uint8Array> => {
    const v = await source.get(url);
    if (!v)
      throw new CloakError(
        'DCAP_COLLATERAL_UNAVAILABLE',
        `collateral ${url} is not available: pass --collateral DIR|FILE.json or allow fetching from Intel PCS`,
      );
    return v;
  };
  const text = async (url: string): Promise<string> => {
    const t = Buffer.from(await get(url)).toString('utf8');
    return t.includes('%2D') || t.includes('%0A') ? decodeURIComponent(t) : t;
  };
  const tcb = extractSignedBody(await text(urls.tcb), 'tcbInfo');
  const qe = extractSignedBody(await text(urls.qe), 'enclaveIdentity');
  return {
    tcbInfo: tcb.body,
    tcbInfoSignature: tcb.signature,
    tcbInfoIssuerChain: await text(urls.tcbIssuerChain),
    qeIdentity: qe.body,
    qeIdentitySignature: qe.signature,
    qeIdentityIssuerChain: await text(urls.qeIssuerChain),
    pckCrl: await get(urls.pckCrl),
    pckCrlIssuerChain: await text(urls.pckCrlIssuerChain),
    rootCaCrl: await get(urls.rootCaCrl),
  };
}
