import { CloakError } from '../../lib/index.ts';
import { encodeTcb, OFFSETS, REPORT_SIZE } from './report.ts';

/**
 * CoCo's SEV-SNP evidence: `{"attestation_report": <the sev crate's
 * AttestationReport serialised field by field>, "cert_chain": [{"cert_type":
 * "VCEK"|"VLEK"|"ASK"|"ARK"|..., "data": [bytes]}] | null}`. The report is
 * rebuilt into its binary form (reserved bytes zero) so one parser and one
 * signature check serve both forms. Both the current sev crate form
 * (`key_info`, `current: {major, minor, build}`) and the older one
 * (`_author_key_en`, `current_build`/`current_minor`/`current_major`,
 * `_reserved_*`) are read.
 */
export interface SnpEvidence {
  report: Buffer;
  /** DER certificates from cert_chain by type (upper-case). */
  certs: Map<string, Buffer>;
}

const fail = (message: string): never => {
  throw new CloakError('SNP_EVIDENCE_MALFORMED', message);
};

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function uint(o: Json, key: string, max: number | bigint): bigint {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || BigInt(v) > BigInt(max))
    fail(`attestation_report.${key} must be an integer in 0..${max}`);
  return BigInt(v as number);
}

function byteArray(v: unknown, len: number | undefined, what: string): Buffer {
  if (!Array.isArray(v) || (len !== undefined && v.length !== len))
    fail(`${what} must be an array of ${len ?? 'some'} bytes`);
  const arr = v as unknown[];
  if (!arr.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255))
    fail(`${what} must hold bytes 0..255`);
  return Buffer.from(arr as number[]);
}

function tcbValue(o: Json, key: string, turin: boolean): bigint {
  const t = o[key];
  if (!isObj(t)) return fail(`attestation_report.${key} must be an object {bootloader, tee, snp, microcode, fmc}`);
  const n = (k: string, optional = false): number => {
    const v = t[k];
    if (optional && (v === null || v === undefined)) return 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255)
      fail(`attestation_report.${key}.${k} must be 0..255`);
    return v as number;
  };
  return encodeTcb(
    { fmc: n('fmc', true), bootloader: n('bootloader'), tee: n('tee'), snp: n('snp'), microcode: n('microcode') },
    turin,
  );
}

function version3(o: Json, key: string): [number, number, number] {
  // Older sev crates serialise the versions flat: current_build, current_minor, current_major.
  const v =
    o[key] ??
    (o[`${key}_build`] !== undefined
      ? { build: o[`${key}_build`], minor: o[`${key}_minor`], major: o[`${key}_major`] }
      : undefined);
  if (!isObj(v)) return fail(`attestation_report.${key} must be {major, minor, build}`);
  const n = (k: string): number => {
    const x = v[k];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 255)
      fail(`attestation_report.${key}.${k} must be 0..255`);
    return x as number;
  };
  return [n('build'), n('minor'), n('major')];
}

/** Rebuilds the 1184-byte report from the sev crate's JSON form. */
export function reportFromJson(r: unknown): Buffer {
  if (!isObj(r)) return fail('attestation_report must be an object');
  const b = Buffer.alloc(REPORT_SIZE);
  const O = OFFSETS;
  const version = Number(uint(r, 'version', 0xffffffff));
  b.writeUInt32LE(version, O.version);
  b.writeUInt32LE(Number(uint(r, 'guest_svn', 0xffffffff)), O.guestSvn);
  b.writeBigUInt64LE(uint(r, 'policy', Number.MAX_SAFE_INTEGER), O.policy);
  byteArray(r.family_id, 16, 'attestation_report.family_id').copy(b, O.familyId);
  byteArray(r.image_id, 16, 'attestation_report.image_id').copy(b, O.imageId);
  b.writeUInt32LE(Number(uint(r, 'vmpl', 0xffffffff)), O.vmpl);
  b.writeUInt32LE(Number(uint(r, 'sig_algo', 0xffffffff)), O.sigAlgo);
  b.writeBigUInt64LE(uint(r, 'plat_info', Number.MAX_SAFE_INTEGER), O.platformInfo);
  // Older sev crates name the key-info word `_author_key_en`.
  b.writeUInt32LE(
    Number(
      uint(r, r.key_info === undefined && r._author_key_en !== undefined ? '_author_key_en' : 'key_info', 0xffffffff),
    ),
    O.keyInfo,
  );
  for (const k of Object.keys(r).filter((k) => k.startsWith('_reserved'))) {
    const v = r[k];
    const zero = v === 0 || (Array.isArray(v) && v.every((x) => x === 0));
    if (!zero) fail(`attestation_report.${k} must be zero`);
  }
  byteArray(r.report_data, 64, 'attestation_report.report_data').copy(b, O.reportData);
  byteArray(r.measurement, 48, 'attestation_report.measurement').copy(b, O.measurement);
  byteArray(r.host_data, 32, 'attestation_report.host_data').copy(b, O.hostData);
  byteArray(r.id_key_digest, 48, 'attestation_report.id_key_digest').copy(b, O.idKeyDigest);
  byteArray(r.author_key_digest, 48, 'attestation_report.author_key_digest').copy(b, O.authorKeyDigest);
  byteArray(r.report_id, 32, 'attestation_report.report_id').copy(b, O.reportId);
  byteArray(r.report_id_ma, 32, 'attestation_report.report_id_ma').copy(b, O.reportIdMa);
  if (version >= 3) {
    b[O.cpuidFamId] = Number(uint(r, 'cpuid_fam_id', 255));
    b[O.cpuidModId] = Number(uint(r, 'cpuid_mod_id', 255));
    b[O.cpuidStep] = Number(uint(r, 'cpuid_step', 255));
  }
  const turin = version >= 3 && b[O.cpuidFamId] === 0x1a;
  b.writeBigUInt64LE(tcbValue(r, 'current_tcb', turin), O.currentTcb);
  b.writeBigUInt64LE(tcbValue(r, 'reported_tcb', turin), O.reportedTcb);
  b.writeBigUInt64LE(tcbValue(r, 'committed_tcb', turin), O.committedTcb);
  b.writeBigUInt64LE(tcbValue(r, 'launch_tcb', turin), O.launchTcb);
  byteArray(r.chip_id, 64, 'attestation_report.chip_id').copy(b, O.chipId);
  Buffer.from(version3(r, 'current')).copy(b, O.currentBuild);
  Buffer.from(version3(r, 'committed')).copy(b, O.committedBuild);
  if (version >= 5) {
    b.writeBigUInt64LE(uint(r, 'launch_mit_vector', Number.MAX_SAFE_INTEGER), O.launchMitVector);
    b.writeBigUInt64LE(uint(r, 'current_mit_vector', Number.MAX_SAFE_INTEGER), O.currentMitVector);
  }
  const sig = r.signature;
  if (!isObj(sig)) return fail('attestation_report.signature must be {r, s}');
  byteArray(sig.r, 72, 'attestation_report.signature.r').copy(b, O.signatureR);
  byteArray(sig.s, 72, 'attestation_report.signature.s').copy(b, O.signatureS);
  return b;
}

/** Accepts CoCo's evidence object (or its JSON text / bytes) or a raw report (bytes). */
export function parseSnpEvidence(evidence: unknown): SnpEvidence {
  let value = evidence;
  if (value instanceof Uint8Array) {
    const buf = Buffer.from(value);
    if (buf[0] !== 0x7b) return { report: buf, certs: new Map() };
    value = buf.toString('utf8');
  }
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      fail('the SEV-SNP evidence is neither a raw report nor JSON');
    }
  }
  if (!isObj(value)) return fail('the SEV-SNP evidence must be {"attestation_report": …, "cert_chain": …}');
  const report = reportFromJson(value.attestation_report);
  const certs = new Map<string, Buffer>();
  const chain = value.cert_chain;
  if (chain !== null && chain !== undefined) {
    if (!Array.isArray(chain)) fail('cert_chain must be an array or null');
    for (const [i, e] of (chain as unknown[]).entries()) {
      // The sev crate writes a vendor-defined entry as {"cert_type": {"OTHER": "<guid>"}}: not a certificate Cloak reads.
      if (
        isObj(e) &&
        isObj(e.cert_type) &&
        typeof e.cert_type.OTHER === 'string' &&
        Object.keys(e.cert_type).length === 1
      )
        continue;
      if (!isObj(e) || typeof e.cert_type !== 'string') return fail(`cert_chain[${i}] must be {"cert_type", "data"}`);
      certs.set(e.cert_type.toUpperCase(), byteArray(e.data, undefined, `cert_chain[${i}].data`));
    }
  }
  return { report, certs };
}
