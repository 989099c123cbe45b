import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { CloakError, fromHex } from '../lib/index.ts';
import type { Attester } from './kbs-client.ts';
import { simAttester } from './evidence/sim.ts';
import { tsmAttester, tdxEvidence, TSM_REPORT_ROOT } from './evidence/tsm.ts';
import { tpmAttester } from './evidence/tpm-evidence.ts';
import { TpmClient } from './evidence/tpm-client.ts';
import { openTpmDevice, connectTcpTpm, DEFAULT_TPM_DEVICE } from './evidence/tpm-transport.ts';

export interface AttesterChoice {
  tee?: string; // 'auto' | 'sim' | 'tdx' | …
  simDir?: string;
  measurement?: string; // hex, for sim
  initData?: string;
  tsmRoot?: string;
  /** A TPM: a device path (default /dev/tpmrm0) or host:port of a TCP TPM such as swtpm. */
  tpm?: string;
}

function openTpm(where: string | undefined): () => Promise<TpmClient> {
  return async () => {
    const m = where ? /^([^/:]+):(\d+)$/.exec(where) : null;
    return new TpmClient(m ? await connectTcpTpm(m[1]!, Number(m[2])) : openTpmDevice(where ?? DEFAULT_TPM_DEVICE));
  };
}

/** Picks the evidence source: --tee, else configfs-tsm when present, else sim when a sim dir is given. */
export function chooseAttester(c: AttesterChoice): Attester {
  const tee = c.tee && c.tee !== 'auto' ? c.tee : autodetect(c);
  switch (tee) {
    case 'sim': {
      const measurement = c.measurement
        ? fromHex(c.measurement, 'USAGE_MEASUREMENT', '--measurement')
        : createHash('sha384')
            .update(c.initData ?? '')
            .digest();
      if (measurement.length > 48)
        throw new CloakError('USAGE_MEASUREMENT', '--measurement is at most 48 bytes (96 hex)');
      return simAttester({ dir: c.simDir ?? '.cloak/sim', measurement, initData: c.initData });
    }
    case 'tdx':
      return tsmAttester({ tee: 'tdx', root: c.tsmRoot, build: tdxEvidence });
    case 'tpm':
      return tpmAttester('tpm', openTpm(c.tpm));
    default:
      throw new CloakError(
        'AGENT_TEE_UNSUPPORTED',
        `no evidence source for TEE "${tee}" on this machine (sim, tdx, tpm)`,
      );
  }
}

function autodetect(c: AttesterChoice): string {
  if (existsSync(c.tsmRoot ?? TSM_REPORT_ROOT)) return 'tdx';
  if (c.tpm || existsSync(DEFAULT_TPM_DEVICE)) return 'tpm';
  if (c.simDir) return 'sim';
  throw new CloakError('AGENT_NO_TEE', 'no TEE found (no configfs-tsm); for development pass --tee sim --sim-dir DIR');
}
