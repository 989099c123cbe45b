import * as asn1js from 'asn1js';
import { CloakError } from '../../lib/index.ts';

/** The Intel SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1). */
export interface PckExtensions {
  ppid?: Buffer;
  /** The 16 SGX TCB component SVNs. */
  tcbComponents: number[];
  pceSvn: number;
  cpuSvn: Buffer;
  pceId: Buffer;
  fmspc: Buffer;
  /** 0 Standard, 1 Scalable, 2 Scalable with integrity. */
  sgxType: number;
}

export const SGX_EXTENSIONS_OID = '1.2.840.113741.1.13.1';
const CODE = 'DCAP_PCK_EXTENSION_MALFORMED';
const fail = (msg: string): never => {
  throw new CloakError(CODE, `PCK certificate SGX extension: ${msg}`);
};

/** Each entry of an SGX extension sequence is SEQUENCE { OID, value }. */
function entries(seq: asn1js.AsnType): Map<string, asn1js.AsnType> {
  if (!(seq instanceof asn1js.Sequence)) fail('expected a SEQUENCE');
  const out = new Map<string, asn1js.AsnType>();
  for (const item of (seq as asn1js.Sequence).valueBlock.value) {
    if (!(item instanceof asn1js.Sequence) || item.valueBlock.value.length !== 2)
      fail('expected SEQUENCE { OID, value }');
    const [oid, value] = (item as asn1js.Sequence).valueBlock.value;
    if (!(oid instanceof asn1js.ObjectIdentifier)) fail('expected an OID');
    out.set((oid as asn1js.ObjectIdentifier).valueBlock.toString(), value!);
  }
  return out;
}

function octets(v: asn1js.AsnType | undefined, name: string, len?: number): Buffer {
  if (!(v instanceof asn1js.OctetString)) return fail(`${name} is missing or not an OCTET STRING`);
  const b = Buffer.from((v as asn1js.OctetString).valueBlock.valueHexView);
  if (len !== undefined && b.length !== len) fail(`${name} must be ${len} bytes`);
  return b;
}

function integer(v: asn1js.AsnType | undefined, name: string): number {
  if (!(v instanceof asn1js.Integer) && !(v instanceof asn1js.Enumerated))
    return fail(`${name} is missing or not an INTEGER`);
  const n = (v as asn1js.Integer).valueBlock.valueDec;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffff) fail(`${name} is out of range`);
  return n;
}

/** Parses the DER value of the SGX extension. */
export function parsePckExtensions(der: Uint8Array): PckExtensions {
  try {
    return parse(der);
  } catch (e) {
    // asn1js throws plain Errors on some malformed encodings.
    if (e instanceof CloakError) throw e;
    throw new CloakError(CODE, 'PCK certificate SGX extension: malformed ASN.1', { cause: e });
  }
}

function parse(der: Uint8Array): PckExtensions {
  const parsed = asn1js.fromBER(Buffer.from(der));
  if (parsed.offset === -1) fail('not valid DER');
  const top = entries(parsed.result);
  const base = SGX_EXTENSIONS_OID;
  const tcb = entries(top.get(`${base}.2`) ?? fail('TCB is missing'));
  const tcbComponents: number[] = [];
  for (let i = 1; i <= 16; i++) tcbComponents.push(integer(tcb.get(`${base}.2.${i}`), `TCB component ${i}`));
  return {
    ppid: top.has(`${base}.1`) ? octets(top.get(`${base}.1`), 'PPID') : undefined,
    tcbComponents,
    pceSvn: integer(tcb.get(`${base}.2.17`), 'PCESVN'),
    cpuSvn: octets(tcb.get(`${base}.2.18`), 'CPUSVN', 16),
    pceId: octets(top.get(`${base}.3`), 'PCE-ID', 2),
    fmspc: octets(top.get(`${base}.4`), 'FMSPC', 6),
    sgxType: integer(top.get(`${base}.5`), 'SGX type'),
  };
}
