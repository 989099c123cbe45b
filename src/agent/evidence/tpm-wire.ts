import type { ByteReader } from '../../lib/index.ts';
import { tpmCommand, tpmResponseReader } from '../../attest/tpm/index.ts';

/** The agent's TPM client speaks the one TPM wire codec (attest/tpm/wire.ts); its failures carry the agent's codes. */
export { TPM_CC, TPM_RH_OWNER, tpm2b, u16, u32 } from '../../attest/tpm/index.ts';
export const command = tpmCommand;

export function responseReader(resp: Buffer, what: string, handles = 0): ByteReader {
  return tpmResponseReader(resp, what, handles, { malformed: 'AGENT_TPM_RESPONSE', rc: 'AGENT_TPM_RC' });
}
