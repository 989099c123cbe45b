export { AgentKbsClient, type Attester, type KbsClientOptions } from './kbs-client.ts';
export { parseWorkloadInitData, workloadInitData, type SecretSpec, type WorkloadSpec } from './workload.ts';
export { runAgentInit, type AgentInitResult } from './init.ts';
export { checkSecrets, writeSecrets, shellQuote, ENV_FILE, type WriteSecretsOptions, type WrittenSecrets } from './secrets.ts';
export { chooseAttester, type AttesterChoice } from './select.ts';
export { simAttester, type SimAttesterOptions } from './evidence/sim.ts';
export { readTsmReport, tdxEvidence, tsmAttester, TSM_REPORT_ROOT, type TsmFs, type TsmReport, type TsmEvidenceBuilder } from './evidence/tsm.ts';
export { AGENT_ERRORS } from './errors.ts';
