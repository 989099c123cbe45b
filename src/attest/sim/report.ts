import { CloakError, ByteReader } from '../../lib/index.ts';

/**
 * Cloak's simulated TEE report: the fields a real report has, in a fixed
 * little-endian layout, for development on machines without a TEE.
 *
 *   magic "CLKSIM01" (8) | version u32 | flags u32 (bit 0 = debug) | tcb u64 |
 *   measurement (48) | host_data (32) | report_data (64)
 */
export const SIM_MAGIC = Buffer.from('CLKSIM01', 'ascii');
export const SIM_REPORT_SIZE = 168;
export const SIM_FLAG_DEBUG = 1;

export interface SimReport {
  version: number;
  debug: boolean;
  tcb: bigint;
  measurement: Buffer; // 48
  hostData: Buffer; // 32
  reportData: Buffer; // 64
}

export function parseSimReport(buf: Buffer): SimReport {
  if (buf.length !== SIM_REPORT_SIZE) {
    throw new CloakError('SIM_REPORT_MALFORMED', `sim report must be ${SIM_REPORT_SIZE} bytes, got ${buf.length}`);
  }
  const r = new ByteReader(buf, 'SIM_REPORT_MALFORMED', 'sim report');
  if (!r.bytes(8, 'magic').equals(SIM_MAGIC))
    throw new CloakError('SIM_REPORT_MALFORMED', 'sim report has a wrong magic');
  const version = r.u32le('version');
  if (version !== 1) throw new CloakError('SIM_REPORT_MALFORMED', `sim report version ${version} is not supported`);
  const flags = r.u32le('flags');
  if ((flags & ~SIM_FLAG_DEBUG) !== 0)
    throw new CloakError('SIM_REPORT_MALFORMED', 'sim report has reserved flag bits set');
  return {
    version,
    debug: (flags & SIM_FLAG_DEBUG) !== 0,
    tcb: r.u64le('tcb'),
    measurement: Buffer.from(r.bytes(48, 'measurement')),
    hostData: Buffer.from(r.bytes(32, 'host_data')),
    reportData: Buffer.from(r.bytes(64, 'report_data')),
  };
}

export function serializeSimReport(rep: SimReport): Buffer {
  const out = Buffer.alloc(SIM_REPORT_SIZE);
  SIM_MAGIC.copy(out, 0);
  out.writeUInt32LE(rep.version, 8);
  out.writeUInt32LE(rep.debug ? SIM_FLAG_DEBUG : 0, 12);
  out.writeBigUInt64LE(rep.tcb, 16);
  fit(rep.measurement, 48, 'measurement').copy(out, 24);
  fit(rep.hostData, 32, 'host_data').copy(out, 72);
  fit(rep.reportData, 64, 'report_data').copy(out, 104);
  return out;
}

function fit(b: Buffer, len: number, what: string): Buffer {
  if (b.length > len) throw new CloakError('SIM_REPORT_MALFORMED', `${what} is ${b.length} bytes, at most ${len}`);
  const out = Buffer.alloc(len);
  b.copy(out);
  return out;
}
