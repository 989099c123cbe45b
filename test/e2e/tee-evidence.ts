import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simAttest } from '../../src/attest/sim/index.ts';
import { bindingDigest, type TeeKey } from './kbs-client.ts';
import type { EvidenceRequest } from '../../src/kbs/testing/coco-aa.ts';

export interface SimDevice {
  deviceKeyPem: string;
  deviceCertPem: string;
}

/** The device key and certificate `cloak sim init --dir DIR` wrote. */
export function readSimDevice(dir: string): SimDevice {
  return {
    deviceKeyPem: readFileSync(join(dir, 'device.key'), 'utf8'),
    deviceCertPem: readFileSync(join(dir, 'device.pem'), 'utf8'),
  };
}

/**
 * Evidence binding `nonce` and `key`: CoCo's `sample` form, or a report of the simulated TEE signed by `device`
 * (its measurement the SHA-384 of `measured`, "app" unless given).
 */
export function teeEvidence(
  tee: string,
  nonce: string,
  key: TeeKey,
  device: SimDevice,
  opts: { debug?: boolean; initData?: string; measured?: string } = {},
) {
  const digest = bindingDigest(nonce, key.jwk);
  if (tee === 'sample') return { svn: '1', report_data: digest.toString('base64') };
  const reportData = Buffer.alloc(64);
  digest.copy(reportData);
  const hostData = opts.initData ? createHash('sha256').update(opts.initData).digest() : Buffer.alloc(32);
  return simAttest(
    {
      version: 1,
      debug: opts.debug ?? false,
      tcb: 1n,
      measurement: createHash('sha384')
        .update(opts.measured ?? 'app')
        .digest(),
      hostData,
      reportData,
    },
    device,
  );
}

/**
 * The simulated hardware of a CoCo guest, for CocoAttestationAgent: its report binds the AA's report data and holds
 * `hostData` (default: the init-data's sha256, where SNP holds HOST_DATA) and the launch `measurement`.
 */
export const simGuestHardware =
  (device: SimDevice, initData: string, opts: { hostData?: Buffer; measurement: Buffer }) => (req: EvidenceRequest) =>
    simAttest(
      {
        version: 1,
        debug: false,
        tcb: 1n,
        measurement: opts.measurement,
        hostData: opts.hostData ?? createHash('sha256').update(initData).digest(),
        reportData: Buffer.concat([req.reportData, Buffer.alloc(64 - req.reportData.length)]),
      },
      device,
    );
