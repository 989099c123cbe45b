export { resolveUser, readImageTable, MAX_USER_TABLE_BYTES, type ImageUser } from './user.ts';
export { runtimeSpec, mergeEnv, type ImageRunConfig, SECRETS_MOUNT } from './spec.ts';
export { checkRunc, runBundle, killContainer, deleteContainer, RUNC } from './runc.ts';
export {
  defaultWorkloadName,
  runInitData,
  runConfidential,
  type RunnableImage,
  type RunOptions,
  type RunTimings,
} from './run.ts';
export { openRunnableImage } from './image-source.ts';
export {
  claimIdRange,
  hostIds,
  checkMappable,
  ID_RANGE_BASE,
  ID_RANGE_SIZE,
  ID_RANGE_SLOTS,
  type IdRange,
} from './id-range.ts';
export { createRunDir, sweepDeadRuns, processStartTime, DEFAULT_RUN_ROOT, type RunDir } from './run-dir.ts';
export { cleanupOnInterrupt, deferInterrupt, interruptedBy, exitInterrupted, INTERRUPT_SIGNALS } from './interrupt.ts';
export { RUNTIME_ERRORS } from './errors.ts';
