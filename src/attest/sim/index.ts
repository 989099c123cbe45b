export {
  parseSimReport,
  serializeSimReport,
  SIM_MAGIC,
  SIM_REPORT_SIZE,
  SIM_FLAG_DEBUG,
  type SimReport,
} from './report.ts';
export { createSimHardware, type SimHardware } from './keys.ts';
export { simAttest, type SimEvidence } from './attester.ts';
export { type SimTrust, simVerifier } from './verifier.ts';
