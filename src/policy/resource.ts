import { CloakError } from '../lib/index.ts';
import { compileCel, runCel, type CelProgram } from './cel.ts';

/** A resource policy: one CEL expression that must yield true for a release. */
export interface ResourcePolicy {
  text: string;
  program: CelProgram;
}

export interface ResourceInput {
  tee: string;
  insecure: boolean;
  status: string;
  trust_vector: Record<string, unknown>;
  claims: Record<string, unknown>;
  init_data: Record<string, unknown>;
  resource: { repository: string; type: string; tag: string; path: string };
}

export function parseResourcePolicy(text: string): ResourcePolicy {
  return { text, program: compileCel(text, 'resource policy') };
}

export function allowsRelease(policy: ResourcePolicy, input: ResourceInput): boolean {
  const v = runCel(policy.program, input as unknown as Record<string, unknown>, 'resource policy');
  if (typeof v !== 'boolean')
    throw new CloakError('POLICY_EVALUATION', `the resource policy must yield true or false, got ${JSON.stringify(v)}`);
  return v;
}
