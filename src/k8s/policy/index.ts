export {
  directoryConfigSource,
  registryConfigSource,
  firstConfigSource,
  type ImageConfig,
  type ImageConfigSource,
} from './image-config.ts';
export {
  sandboxNamePattern,
  imageNames,
  podPolicy,
  type ResolvedContainer,
  type ContainerPolicy,
  type MountPolicy,
  type PodPolicy,
  DEFAULT_CAPS,
} from './pod-data.ts';
export { readOptIns, optInsRecord, describeOptIns, type AgentPolicyOptIns, OPT_IN_ANNOTATIONS } from './opt-ins.ts';
export { policyRules, renderPolicy } from './render.ts';
