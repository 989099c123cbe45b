export { type Attester, type KbsClientOptions, AgentKbsClient } from './kbs-client.ts';
export { parseWorkloadInitData, type SecretSpec, type WorkloadSpec, workloadInitData } from './workload.ts';
export { runAgentInit, type AgentInitResult } from './init.ts';
export {
  checkSecrets,
  writeSecrets,
  shellQuote,
  ENV_FILE,
  type WriteSecretsOptions,
  type WrittenSecrets,
} from './secrets.ts';
export { chooseAttester, type AttesterChoice } from './select.ts';
export { simAttester, type SimAttesterOptions } from './evidence/sim.ts';
export {
  readTsmReport,
  tdxEvidence,
  tsmAttester,
  TSM_REPORT_ROOT,
  type TsmFs,
  type TsmReport,
  type TsmEvidenceBuilder,
} from './evidence/tsm.ts';
export { AGENT_ERRORS } from './errors.ts';
export {
  cdhBaseUrl,
  cdhResource,
  CDH_TIMEOUT_MS,
  DEFAULT_CDH_URL,
  CDH_MAX_RESOURCE_BYTES,
  type CdhClientOptions,
} from './cdh-client.ts';
export { secretsFromArgs, runAgentCdh, CDH_MAX_TOTAL_BYTES } from './cdh-init.ts';
