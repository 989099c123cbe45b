import { ByteReader, ByteWriter, CloakError, type ErrorCode } from '../../lib/index.ts';

/**
 * The TPM 2.0 command/response wire format (TPM 2.0 Part 1 §18, Part 3):
 * what a TPM client sends and reads back. The structures inside (TPMS_ATTEST,
 * TPMT_PUBLIC, TPMT_SIGNATURE, TPML_PCR_SELECTION) are in attest.ts,
 * public.ts and signature.ts, on the same ByteReader/ByteWriter.
 */

/** TPM 2.0 command codes, handles and tags a client uses (TPM 2.0 Part 2). */
export const TPM_CC = {
  NV_DefineSpace: 0x12a,
  NV_Write: 0x137,
  NV_Read: 0x14e,
  Quote: 0x158,
  NV_ReadPublic: 0x169,
  ReadPublic: 0x173,
  GetCapability: 0x17a,
  PCR_Read: 0x17e,
} as const;
export const TPM_ST_NO_SESSIONS = 0x8001;
export const TPM_ST_SESSIONS = 0x8002;
export const TPM_RS_PW = 0x40000009;
export const TPM_RH_OWNER = 0x40000001;

export const u16 = (v: number): Buffer => new ByteWriter().u16be(v).toBuffer();
export const u32 = (v: number): Buffer => new ByteWriter().u32be(v >>> 0).toBuffer();
export const tpm2b = (b: Uint8Array): Buffer => new ByteWriter().u16Sized(b).toBuffer();

/** The authorisation area with one password session and an empty password. */
const PW_SESSION = new ByteWriter()
  .u32be(TPM_RS_PW)
  .u16Sized(Buffer.alloc(0))
  .u8(0)
  .u16Sized(Buffer.alloc(0))
  .toBuffer();

/** Builds a command: header, handles, (password session), parameters. */
export function tpmCommand(cc: number, handles: number[], params: Buffer, withPasswordSession: boolean): Buffer {
  const body = new ByteWriter();
  for (const h of handles) body.u32be(h >>> 0);
  if (withPasswordSession) body.u32be(PW_SESSION.length).bytes(PW_SESSION);
  body.bytes(params);
  return new ByteWriter()
    .u16be(withPasswordSession ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS)
    .u32be(10 + body.size)
    .u32be(cc)
    .bytes(body.toBuffer())
    .toBuffer();
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

/** The codes a response failure throws: a malformed response, and a TPM error code. */
export interface TpmResponseCodes {
  malformed: ErrorCode;
  rc: ErrorCode;
}

/**
 * Checks a response's header (size matches, rc is success) and returns a
 * reader over its handles/parameters (for session responses: the parameter
 * area only, bounded by parameterSize).
 */
export function tpmResponseReader(resp: Buffer, what: string, handles: number, codes: TpmResponseCodes): ByteReader {
  const r = new ByteReader(resp, codes.malformed, `TPM ${what} response`);
  const tag = r.u16be('tag');
  const size = r.u32be('size');
  const rc = r.u32be('responseCode');
  if (size !== resp.length)
    throw new CloakError(codes.malformed, `TPM ${what} response says ${size} bytes but ${resp.length} arrived`);
  if (rc !== 0) {
    const hint = RC_HINTS[rc] ?? RC_HINTS[rc & 0xfbf] ?? RC_HINTS[rc & 0x9bf];
    throw new CloakError(codes.rc, `TPM ${what} failed with rc 0x${rc.toString(16)}${hint ? `: ${hint}` : ''}`, {
      details: { rc },
    });
  }
  if (tag === TPM_ST_NO_SESSIONS) return r;
  if (tag !== TPM_ST_SESSIONS) throw new CloakError(codes.malformed, `TPM ${what} response tag 0x${tag.toString(16)}`);
  const h = r.bytes(handles * 4, 'handles');
  const paramSize = r.u32be('parameterSize');
  const params = r.bytes(paramSize, 'parameters');
  return new ByteReader(Buffer.concat([h, params]), codes.malformed, `TPM ${what} parameters`);
}
