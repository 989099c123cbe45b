import { CloakError } from '../../lib/index.ts';
import type { AgentPolicyEntry, WorkloadDocument } from '../../manifest/index.ts';

type Obj = Record<string, any>;

/** What a workload lets the host do beyond the defaults of rules.rego. */
export interface AgentPolicyOptIns {
  /** The host may read container output (kubectl logs, exec output). */
  logs: boolean;
  /** The host may write to the stdin of containers that declare `stdin: true` (kubectl attach). */
  stdin: boolean;
  /** Commands the host may run in a container (kubectl exec), besides its exec probes and hooks. */
  exec: Array<{ container: string; command: string[] }>;
}

/** Pod annotations that opt in, read by `cloak generate` (and removed from nothing: they stay visible in the pod). */
export const OPT_IN_ANNOTATIONS = {
  logs: 'policy.cloak.dev/allow-logs',
  stdin: 'policy.cloak.dev/allow-stdin',
  exec: 'policy.cloak.dev/allow-exec',
} as const;

function flag(v: unknown, what: string): boolean {
  if (v === undefined || v === null) return false;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new CloakError('K8S_POLICY_OPT_IN', `${what} must be true or false`);
}

function execList(v: unknown, what: string, containers: string[]): AgentPolicyOptIns['exec'] {
  if (v === undefined || v === null) return [];
  let list = v;
  if (typeof v === 'string') {
    try {
      list = JSON.parse(v);
    } catch {
      throw new CloakError(
        'K8S_POLICY_OPT_IN',
        `${what} must be JSON: [{"container": "app", "command": ["cat", "/tmp/status"]}]`,
      );
    }
  }
  if (!Array.isArray(list)) throw new CloakError('K8S_POLICY_OPT_IN', `${what} must be a list of {container, command}`);
  return list.map((e: Obj, i: number) => {
    if (typeof e?.container !== 'string' || !containers.includes(e.container))
      throw new CloakError(
        'K8S_POLICY_OPT_IN',
        `${what}[${i}].container must name a container of the pod (${containers.join(', ')})`,
      );
    if (!Array.isArray(e.command) || e.command.length === 0 || !e.command.every((x: unknown) => typeof x === 'string'))
      throw new CloakError(
        'K8S_POLICY_OPT_IN',
        `${what}[${i}].command must be a non-empty list of strings (the exact argv)`,
      );
    return { container: e.container, command: [...e.command] };
  });
}

/** The workload's opt-ins: its manifest entry's `agentPolicy` and its pod annotations, merged. */
export function readOptIns(
  entry: WorkloadDocument | undefined,
  podAnnotations: Obj,
  containers: string[],
  where: string,
): AgentPolicyOptIns {
  const m: AgentPolicyEntry = entry?.agentPolicy ?? {};
  const exec = [
    ...execList(m.exec, `manifest workload ${entry?.name}: agentPolicy.exec`, containers),
    ...execList(podAnnotations[OPT_IN_ANNOTATIONS.exec], `${where}: annotation ${OPT_IN_ANNOTATIONS.exec}`, containers),
  ];
  const seen = new Set<string>();
  return {
    logs:
      flag(m.logs, 'agentPolicy.logs') ||
      flag(podAnnotations[OPT_IN_ANNOTATIONS.logs], `${where}: annotation ${OPT_IN_ANNOTATIONS.logs}`),
    stdin:
      flag(m.stdin, 'agentPolicy.stdin') ||
      flag(podAnnotations[OPT_IN_ANNOTATIONS.stdin], `${where}: annotation ${OPT_IN_ANNOTATIONS.stdin}`),
    exec: exec.filter((e) => {
      const k = JSON.stringify(e);
      return seen.has(k) ? false : (seen.add(k), true);
    }),
  };
}

/** The manifest form of the opt-ins (only what is on), or undefined when there are none. */
export function optInsRecord(o: AgentPolicyOptIns): AgentPolicyEntry | undefined {
  const r: AgentPolicyEntry = {};
  if (o.logs) r.logs = true;
  if (o.stdin) r.stdin = true;
  if (o.exec.length) r.exec = o.exec;
  return Object.keys(r).length ? r : undefined;
}

/** One line per opt-in, for `cloak generate` to print. */
export function describeOptIns(o: AgentPolicyOptIns, where: string): string[] {
  return [
    ...(o.logs ? [`${where}: agent policy opt-in: the host may read container output (logs)`] : []),
    ...(o.stdin ? [`${where}: agent policy opt-in: the host may write to stdin of stdin: true containers`] : []),
    ...o.exec.map(
      (e) =>
        `${where}: agent policy opt-in: the host may exec ${JSON.stringify(e.command)} in container ${e.container}`,
    ),
  ];
}
