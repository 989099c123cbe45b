import { Environment } from '@marcbachmann/cel-js';
import { CloakError } from '../lib/index.ts';

/** Variables every Cloak CEL policy sees; all dynamic maps/values. */
const VARIABLES: Record<string, string> = {
  tee: 'string',
  insecure: 'bool',
  claims: 'map',
  init_data: 'map',
  refs: 'map',
  status: 'string',
  trust_vector: 'map',
  resource: 'map',
};

const env = new Environment({ homogeneousAggregateLiterals: false, limits: { maxAstNodes: 5000, maxDepth: 50 } });
for (const [name, type] of Object.entries(VARIABLES)) env.registerVariable(name, type);

export type CelProgram = (input: Record<string, unknown>) => unknown;

/** Parses and type-checks a CEL expression; throws POLICY_INVALID with the parser's reason. */
export function compileCel(expression: string, what: string): CelProgram {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new CloakError('POLICY_INVALID', `${what}: the CEL expression is empty`);
  }
  try {
    const program = env.parse(expression);
    const checked = program.check() as { valid: boolean; error?: { message?: string } };
    if (!checked.valid) throw new Error(checked.error?.message ?? 'type check failed');
    return (input) => fromCel(program(toCel(input) as Record<string, unknown>));
  } catch (e) {
    if (e instanceof CloakError) throw e;
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new CloakError('POLICY_INVALID', `${what}: CEL does not compile: ${reason}`, { cause: e });
  }
}

/** Runs a compiled program; evaluation errors (missing key, wrong type) become POLICY_EVALUATION. */
export function runCel(program: CelProgram, input: Record<string, unknown>, what: string): unknown {
  try {
    return program(input);
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new CloakError('POLICY_EVALUATION', `${what}: ${reason}`, { cause: e });
  }
}

/** CEL has int (bigint) and double: integral numbers become ints so `claims.tcb >= 5` works. */
function toCel(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCel);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, toCel(x)]),
    );
  }
  return v;
}

function fromCel(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(fromCel);
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), fromCel(x)]));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromCel(x)]));
  return v;
}
