import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyObject } from 'node:crypto';
import { ByteReader, CloakError } from '../../lib/index.ts';
import {
  encodePcrSelection,
  parseTpmPublic,
  parseTpmSignature,
  readPcrSelection,
  TPM_ALG,
  type TpmSignature,
} from '../../attest/tpm/index.ts';
import type { TpmTransport } from './tpm-transport.ts';
import { command, responseReader, TPM_CC, TPM_RH_OWNER, tpm2b, u16, u32 } from './tpm-wire.ts';

export const AZURE_AK_HANDLE = 0x81000003;
/** Azure's HCL refreshes the HCL report with the 64 bytes written here (they become the runtime claims' user-data). */
export const HCL_USER_DATA_NV_INDEX = 0x01400002;
const TPM_CAP_TPM_PROPERTIES = 6;
const TPM_PT_NV_BUFFER_MAX = 0x12c;
const MAX_NV_SIZE = 1 << 16;
/** TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING: warnings that mean "send it again". */
const RETRY_RCS = new Set([0x922, 0x908, 0x90a]);

export interface NvPublic {
  index: number;
  nameAlg: number;
  attributes: number;
  size: number;
}
export interface TpmQuoteResult {
  message: Buffer;
  signature: Buffer;
  parsedSignature: TpmSignature;
}

/** A TPM 2.0 client over the command/response wire format; every response is parsed with bounds. */
export class TpmClient {
  constructor(private readonly transport: TpmTransport) {}

  close(): void {
    this.transport.close();
  }

  private async run(cc: number, what: string, handles: number[], params: Buffer, session: boolean, respHandles = 0) {
    const cmd = command(cc, handles, params, session);
    for (let attempt = 0; ; attempt++) {
      try {
        return responseReader(await this.transport.transmit(cmd), what, respHandles);
      } catch (e) {
        const rc = e instanceof CloakError ? (e.details?.rc as number | undefined) : undefined;
        if (rc === undefined || !RETRY_RCS.has(rc) || attempt >= 10) throw e;
        await sleep(20 * (attempt + 1));
      }
    }
  }

  async nvReadPublic(index: number): Promise<NvPublic> {
    const r = await this.run(TPM_CC.NV_ReadPublic, 'NV_ReadPublic', [index], Buffer.alloc(0), false);
    const pub = r.u16Sized(256, 'nvPublic');
    const p = new ByteReader(pub, 'AGENT_TPM_RESPONSE', 'TPMS_NV_PUBLIC');
    const got = p.u32be('nvIndex');
    const nameAlg = p.u16be('nameAlg');
    const attributes = p.u32be('attributes');
    p.u16Sized(64, 'authPolicy');
    const size = p.u16be('dataSize');
    if (got !== index)
      throw new CloakError(
        'AGENT_TPM_RESPONSE',
        `NV_ReadPublic answered for index 0x${got.toString(16)}, not 0x${index.toString(16)}`,
      );
    return { index, nameAlg, attributes, size };
  }

  /** TPM_PT_NV_BUFFER_MAX: the largest NV_Read/NV_Write chunk (1024 on most TPMs); 512 if the TPM does not say. */
  async nvBufferMax(): Promise<number> {
    try {
      const r = await this.run(
        TPM_CC.GetCapability,
        'GetCapability',
        [],
        Buffer.concat([u32(TPM_CAP_TPM_PROPERTIES), u32(TPM_PT_NV_BUFFER_MAX), u32(1)]),
        false,
      );
      r.u8('moreData');
      if (r.u32be('capability') !== TPM_CAP_TPM_PROPERTIES || r.u32be('count') < 1) return 512;
      const prop = r.u32be('property');
      const value = r.u32be('value');
      return prop === TPM_PT_NV_BUFFER_MAX && value >= 64 && value <= 4096 ? value : 512;
    } catch (e) {
      if (e instanceof CloakError && e.code === 'AGENT_TPM_RC') return 512;
      throw e;
    }
  }

  /** Reads a whole NV index in chunks (owner authorisation with an empty password, as on Azure). */
  async nvReadAll(index: number, opts: { authHandle?: number } = {}): Promise<Buffer> {
    const { size } = await this.nvReadPublic(index);
    if (size > MAX_NV_SIZE)
      throw new CloakError('AGENT_TPM_RESPONSE', `NV index 0x${index.toString(16)} claims ${size} bytes`);
    const chunk = await this.nvBufferMax();
    const parts: Buffer[] = [];
    for (let off = 0; off < size; off += chunk) {
      const n = Math.min(chunk, size - off);
      const r = await this.run(
        TPM_CC.NV_Read,
        'NV_Read',
        [opts.authHandle ?? TPM_RH_OWNER, index],
        Buffer.concat([u16(n), u16(off)]),
        true,
      );
      const data = r.u16Sized(chunk, 'NV data');
      if (data.length !== n)
        throw new CloakError('AGENT_TPM_RESPONSE', `NV_Read returned ${data.length} bytes, asked for ${n}`);
      parts.push(data);
    }
    return Buffer.concat(parts);
  }

  /** Writes `data` at offset 0 of an NV index, defining it (owner read/write, `data.length` bytes) if it does not exist. */
  async nvWrite(index: number, data: Buffer): Promise<void> {
    try {
      await this.nvReadPublic(index);
    } catch (e) {
      if (!(e instanceof CloakError && e.code === 'AGENT_TPM_RC')) throw e;
      const attrs = 0x2 | 0x4 | 0x20000 | 0x40000; // OWNERWRITE | AUTHWRITE | OWNERREAD | AUTHREAD, ordinary index
      const pub = Buffer.concat([u32(index), u16(TPM_ALG.SHA256), u32(attrs), u16(0), u16(data.length)]);
      await this.run(
        TPM_CC.NV_DefineSpace,
        'NV_DefineSpace',
        [TPM_RH_OWNER],
        Buffer.concat([u16(0), tpm2b(pub)]),
        true,
      );
    }
    await this.run(TPM_CC.NV_Write, 'NV_Write', [TPM_RH_OWNER, index], Buffer.concat([tpm2b(data), u16(0)]), true);
  }

  /** Reads SHA-256 PCRs (the TPM returns at most 8 per call, so this loops). Returns values indexed by PCR number. */
  async pcrRead(pcrs: number[] = Array.from({ length: 24 }, (_, i) => i)): Promise<Buffer[]> {
    const out: Buffer[] = [];
    let remaining = [...new Set(pcrs)].sort((a, b) => a - b);
    for (let round = 0; remaining.length > 0; round++) {
      if (round > 24) throw new CloakError('AGENT_TPM_RESPONSE', 'PCR_Read made no progress');
      const r = await this.run(
        TPM_CC.PCR_Read,
        'PCR_Read',
        [],
        encodePcrSelection([{ hashAlg: TPM_ALG.SHA256, pcrs: remaining }]),
        false,
      );
      r.u32be('pcrUpdateCounter');
      const sel = readPcrSelection(r, 'AGENT_TPM_RESPONSE');
      const count = r.u32be('digest count');
      if (count > 8) throw new CloakError('AGENT_TPM_RESPONSE', `PCR_Read returned ${count} digests`);
      const read = sel.filter((b) => b.hashAlg === TPM_ALG.SHA256).flatMap((b) => b.pcrs);
      if (sel.length !== 1 || read.length !== count || count === 0)
        throw new CloakError(
          'AGENT_TPM_RESPONSE',
          'PCR_Read returned digests that do not match its selection (is the SHA-256 bank allocated?)',
        );
      for (const i of read) {
        if (!remaining.includes(i))
          throw new CloakError('AGENT_TPM_RESPONSE', `PCR_Read returned PCR ${i}, which was not asked for`);
        const d = r.u16Sized(32, 'PCR digest');
        if (d.length !== 32) throw new CloakError('AGENT_TPM_RESPONSE', `PCR ${i} digest is ${d.length} bytes`);
        out[i] = d;
      }
      remaining = remaining.filter((i) => !read.includes(i));
    }
    return out;
  }

  /** The public area of a loaded or persistent key, as a Node key. */
  async readPublic(handle: number): Promise<{ key: KeyObject; tpmtPublic: Buffer }> {
    const r = await this.run(TPM_CC.ReadPublic, 'ReadPublic', [handle], Buffer.alloc(0), false);
    const tpmtPublic = r.u16Sized(1024, 'outPublic');
    return { key: parseTpmPublic(tpmtPublic).key, tpmtPublic };
  }

  /** TPM2_Quote over SHA-256 PCRs with the key's own signing scheme; `nonce` becomes extraData. */
  async quote(
    akHandle: number,
    nonce: Buffer,
    pcrs: number[] = Array.from({ length: 24 }, (_, i) => i),
  ): Promise<TpmQuoteResult> {
    if (nonce.length > 64) throw new CloakError('AGENT_TPM_NONCE', 'a TPM quote nonce is at most 64 bytes');
    const params = Buffer.concat([
      tpm2b(nonce),
      u16(TPM_ALG.NULL),
      encodePcrSelection([{ hashAlg: TPM_ALG.SHA256, pcrs }]),
    ]);
    const r = await this.run(TPM_CC.Quote, 'Quote', [akHandle], params, true);
    const message = r.u16Sized(2048, 'quoted');
    const signature = Buffer.from(r.bytes(r.remaining, 'signature'));
    return { message, signature, parsedSignature: parseTpmSignature(signature) };
  }
}
