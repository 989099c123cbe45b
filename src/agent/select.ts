import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { CloakError, fromHex } from '../lib/index.ts';
import type { Attester } from './kbs-client.ts';
import { simAttester } from './evidence/sim.ts';
import { tsmAttester, tdxEvidence, TSM_REPORT_ROOT } from './evidence/tsm.ts';

export interface AttesterChoice {
  tee?: string; // 'auto' | 'sim' | 'tdx' | …
  simDir?: string;
  measurement?: string; // hex, for sim
  initData?: string;
  tsmRoot?: string;
}

/** Picks the evidence source: --tee, else configfs-tsm when present, else sim when a sim dir is given. */
export function chooseAttester(c: AttesterChoice): Attester {
  const tee = c.tee && c.tee !== 'auto' ? c.tee : autodetect(c);
  switch (tee) {
    case 'sim': {
      const measurement = c.measurement ? fromHex(c.measurement, 'USAGE_MEASUREMENT', '--measurement') : createHash('sha384').update(c.initData ?? '').digest();
      if (measurement.length > 48) throw new CloakError('USAGE_MEASUREMENT', '--measurement is at most 48 bytes (96 hex)');
      return simAttester({ dir: c.simDir ?? '.cloak/sim', measurement, initData: c.initData });
    }
    case 'tdx':
      return tsmAttester({ tee: 'tdx', root: c.tsmRoot, build: tdxEvidence });
    default:
      throw new CloakError('AGENT_TEE_UNSUPPORTED', `no evidence source for TEE "${tee}" on this machine (sim, tdx)`);
  }
}

function autodetect(c: AttesterChoice): string {
  if (existsSync(c.tsmRoot ?? TSM_REPORT_ROOT)) return 'tdx';
  if (c.simDir) return 'sim';
  throw new CloakError('AGENT_NO_TEE', 'no TEE found (no configfs-tsm); for development pass --tee sim --sim-dir DIR');
}
