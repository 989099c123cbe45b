export { encodeInitData, decodeInitData, initDataDigestHex, workloadInitData, INITDATA_ANNOTATION, type WorkloadInitData } from './initdata.ts';
export { generate, DEFAULT_AGENT_IMAGE, DEFAULT_RUNTIME_CLASS, AGENT_CONTAINER, SECRETS_VOLUME, SECRETS_PATH, type GenerateOptions, type GenerateResult } from './generate.ts';
export { pin, type DigestResolver } from './pin.ts';
export { agentPolicy, type AgentPolicyInput } from './agent-policy.ts';
export { directoryConfigSource, registryConfigSource, firstConfigSource, sandboxNamePattern, imageNames, podPolicy, DEFAULT_CAPS, readOptIns, optInsRecord, describeOptIns, OPT_IN_ANNOTATIONS, policyRules, renderPolicy, type ImageConfig, type ImageConfigSource, type ResolvedContainer, type ContainerPolicy, type MountPolicy, type PodPolicy, type AgentPolicyOptIns } from './policy/index.ts';
export { K8S_ERRORS } from './errors.ts';
