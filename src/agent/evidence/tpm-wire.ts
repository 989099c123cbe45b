import { ByteReader, CloakError } from '../../lib/index.ts';

/** TPM 2.0 command codes, handles and tags the client uses (TPM 2.0 Part 2). */
export const TPM_CC = {
  NV_DefineSpace: 0x12a, NV_Write: 0x137, NV_Read: 0x14e, Quote: 0x158, NV_ReadPublic: 0x169, ReadPublic: 0x173,
  GetCapability: 0x17a, PCR_Read: 0x17e,
} as const;
export const TPM_ST_NO_SESSIONS = 0x8001;
export const TPM_ST_SESSIONS = 0x8002;
export const TPM_RS_PW = 0x40000009;
export const TPM_RH_OWNER = 0x40000001;

const u8 = (v: number) => Buffer.from([v]);
export const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
export const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
export const tpm2b = (b: Buffer) => Buffer.concat([u16(b.length), b]);

/** The authorisation area with one password session and an empty password. */
const PW_SESSION = Buffer.concat([u32(TPM_RS_PW), u16(0), u8(0), u16(0)]);

/** Builds a command: header, handles, (password session), parameters. */
export function command(cc: number, handles: number[], params: Buffer, withPasswordSession: boolean): Buffer {
  const body = Buffer.concat([
    ...handles.map(u32),
    ...(withPasswordSession ? [u32(PW_SESSION.length), PW_SESSION] : []),
    params,
  ]);
  return Buffer.concat([u16(withPasswordSession ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS), u32(10 + body.length), u32(cc), body]);
}

/** Well-known response codes, to say something a person can act on. */
const RC_HINTS: Record<number, string> = {
  0x18b: 'the handle does not exist (TPM_RC_HANDLE)',
  0x98e: 'authorisation failed (TPM_RC_AUTH_FAIL)',
  0x921: 'the TPM is in lockout (TPM_RC_LOCKOUT)',
  0x100: 'the TPM is not started (TPM_RC_INITIALIZE)',
  0x14c: 'the NV index is not written (TPM_RC_NV_UNINITIALIZED)',
  0x149: 'NV access refused (TPM_RC_NV_AUTHORIZATION)',
  0x146: 'the NV range is out of bounds (TPM_RC_NV_RANGE)',
};

/**
 * Checks a response's header (size matches, rc is success) and returns a
 * reader over its handles/parameters (for session responses: the parameter
 * area only, bounded by parameterSize).
 */
export function responseReader(resp: Buffer, what: string, handles = 0): ByteReader {
  const r = new ByteReader(resp, 'AGENT_TPM_RESPONSE', `TPM ${what} response`);
  const tag = r.u16be('tag');
  const size = r.u32be('size');
  const rc = r.u32be('responseCode');
  if (size !== resp.length) throw new CloakError('AGENT_TPM_RESPONSE', `TPM ${what} response says ${size} bytes but ${resp.length} arrived`);
  if (rc !== 0) {
    const hint = RC_HINTS[rc] ?? RC_HINTS[rc & 0xfbf] ?? RC_HINTS[rc & 0x9bf];
    throw new CloakError('AGENT_TPM_RC', `TPM ${what} failed with rc 0x${rc.toString(16)}${hint ? `: ${hint}` : ''}`, { details: { rc } });
  }
  if (tag === TPM_ST_NO_SESSIONS) return r;
  if (tag !== TPM_ST_SESSIONS) throw new CloakError('AGENT_TPM_RESPONSE', `TPM ${what} response tag 0x${tag.toString(16)}`);
  const h = r.bytes(handles * 4, 'handles');
  const paramSize = r.u32be('parameterSize');
  const params = r.bytes(paramSize, 'parameters');
  return new ByteReader(Buffer.concat([h, params]), 'AGENT_TPM_RESPONSE', `TPM ${what} parameters`);
}
