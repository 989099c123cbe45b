import { createSign } from 'node:crypto';
import { serializeSimReport, type SimReport } from './report.ts';

/** The JSON a simulated TEE sends as `primary_evidence`. */
export interface SimEvidence {
  report: string; // base64
  signature: string; // base64 DER ECDSA P-384/SHA-384 over report
  cert_chain: string[]; // PEM, device first
}

/** Produces sim evidence: what the simulated hardware would return to the guest. */
export function simAttest(report: SimReport, device: { deviceKeyPem: string; deviceCertPem: string }): SimEvidence {
  const bytes = serializeSimReport(report);
  const signature = createSign('sha384').update(bytes).sign(device.deviceKeyPem);
  return {
    report: bytes.toString('base64'),
    signature: signature.toString('base64'),
    cert_chain: [device.deviceCertPem],
  };
}
