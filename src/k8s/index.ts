export {
  encodeInitData,
  decodeInitData,
  initDataDigestHex,
  workloadInitData,
  type WorkloadInitData,
  INITDATA_ANNOTATION,
} from './initdata.ts';
export {
  generate,
  DEFAULT_AGENT_IMAGE,
  DEFAULT_PLATFORM,
  DEFAULT_RUNTIME_CLASS,
  type GenerateOptions,
  type GenerateResult,
} from './generate.ts';
export { pin, type DigestResolver } from './pin.ts';
export { agentPolicy, type AgentPolicyInput } from './agent-policy.ts';
export {
  directoryConfigSource,
  registryConfigSource,
  firstConfigSource,
  type ImageConfig,
  type ImageConfigSource,
  sandboxNamePattern,
  imageNames,
  podPolicy,
  type ResolvedContainer,
  type ContainerPolicy,
  type MountPolicy,
  type PodPolicy,
  DEFAULT_CAPS,
  readOptIns,
  optInsRecord,
  describeOptIns,
  type AgentPolicyOptIns,
  OPT_IN_ANNOTATIONS,
  policyRules,
  renderPolicy,
} from './policy/index.ts';
export { K8S_ERRORS } from './errors.ts';
export { agentContainer, AGENT_CONTAINER, SECRETS_VOLUME, SECRETS_PATH } from './agent-container.ts';
export { applySealedEnv, type SealingKey } from './sealed-env.ts';
export { platformNamed, type Platform, PLATFORMS, RETIRED_RUNTIME_CLASSES } from './platforms.ts';
export { namesRegistryHost, guestImageReference } from './guest-image.ts';
