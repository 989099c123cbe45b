import { CloakError } from '../lib/index.ts';
import {
  podPolicy,
  renderPolicy,
  type AgentPolicyOptIns,
  type ImageConfig,
  type ImageConfigSource,
  type PodPolicy,
  type ResolvedContainer,
} from './policy/index.ts';

type Obj = Record<string, any>;

export interface AgentPolicyInput {
  /** The workload's kind and metadata (its pods' names derive from them). */
  kind: string;
  meta: Obj;
  /** The pod spec, as it will run. */
  pod: Obj;
  /** Init containers, then containers, each with its pinned image (digest undefined when it is a tag). */
  containers: Array<{
    spec: Obj;
    image: string;
    digest?: string;
    config?: ImageConfig;
    envPatterns?: Record<string, string>;
  }>;
  configs: ImageConfigSource;
  optIns: AgentPolicyOptIns;
  where: string;
}

/** The Kata agent policy (policy.rego) of one workload's pods: Cloak's rules plus the data derived from the pod and its images. */
export async function agentPolicy(input: AgentPolicyInput): Promise<{ text: string; data: PodPolicy }> {
  const resolved: ResolvedContainer[] = [];
  for (const c of input.containers) {
    const config = c.config ?? (c.digest ? await input.configs(c.image, c.digest) : undefined);
    if (!config) {
      throw new CloakError(
        'K8S_IMAGE_CONFIG',
        `${input.where}: no image config for ${c.image} (container ${c.spec.name}); the agent policy pins its entrypoint, environment and user: make the registry reachable or give --image-configs DIR with sha256-<hex>.json for ${c.digest ?? 'the pinned digest'}`,
      );
    }
    resolved.push({ spec: c.spec, image: c.image, digest: c.digest, config, envPatterns: c.envPatterns });
  }
  const data = podPolicy(
    input.kind,
    input.meta,
    input.pod,
    resolved,
    String(input.meta.namespace ?? ''),
    input.optIns,
    input.where,
  );
  return { text: renderPolicy(data), data };
}
