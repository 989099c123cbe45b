import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloakError } from '../../lib/index.ts';
import { fitDigest } from '../../attest/binding.ts';
import { simAttest } from '../../attest/sim/index.ts';
import { parseInitData } from '../../kbs/guest.ts';
import type { Attester } from '../kbs-client.ts';

export interface SimAttesterOptions {
  /** Directory from `cloak sim init` (device.pem, device.key). */
  dir: string;
  /** Launch measurement the simulated TEE reports (48 bytes). */
  measurement: Buffer;
  /** Init-data text whose digest the simulated hardware holds as host-data. */
  initData?: string;
  debug?: boolean;
}

/** The simulated TEE as an evidence source (development only; refused unless a policy allows insecure TEEs). */
export function simAttester(opts: SimAttesterOptions): Attester {
  let device: { deviceKeyPem: string; deviceCertPem: string };
  try {
    device = {
      deviceKeyPem: readFileSync(join(opts.dir, 'device.key'), 'utf8'),
      deviceCertPem: readFileSync(join(opts.dir, 'device.pem'), 'utf8'),
    };
  } catch {
    throw new CloakError('AGENT_NO_SIM', `no simulated TEE in ${opts.dir}: run \`cloak sim init --dir ${opts.dir}\``);
  }
  // The simulated hardware holds the init-data digest exactly as the KBS computes it.
  const hostData = opts.initData
    ? fitDigest(parseInitData({ format: 'toml', body: opts.initData }).digest, 32)
    : Buffer.alloc(32);
  return {
    tee: 'sim',
    async evidence(binding: Buffer) {
      return simAttest(
        {
          version: 1,
          debug: opts.debug ?? false,
          tcb: 1n,
          measurement: opts.measurement,
          hostData,
          reportData: fitDigest(binding, 64),
        },
        device,
      );
    },
  };
}
