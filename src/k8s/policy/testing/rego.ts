// Test support: evaluates policies with a real Rego engine (never one of our own).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RegoEngine {
  path: string;
  flavour: 'rego-cpp' | 'opa';
}

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** CLOAK_REGO, then ../shared/tools/rego/rego beside the repository, then `rego` or `opa` on PATH. */
export function findRegoEngine(): { engine?: RegoEngine; reason: string } {
  const env = process.env.CLOAK_REGO;
  if (env)
    return existsSync(env)
      ? { engine: { path: env, flavour: /opa[^/]*$/.test(env) ? 'opa' : 'rego-cpp' }, reason: `CLOAK_REGO=${env}` }
      : { reason: `CLOAK_REGO=${env} does not exist` };
  const shared = join(repoRoot, '..', 'shared', 'tools', 'rego', 'rego');
  if (existsSync(shared)) return { engine: { path: shared, flavour: 'rego-cpp' }, reason: shared };
  const rego = onPath('rego');
  if (rego) return { engine: { path: rego, flavour: 'rego-cpp' }, reason: rego };
  const opa = onPath('opa');
  if (opa) return { engine: { path: opa, flavour: 'opa' }, reason: opa };
  return { reason: 'no Rego engine: set CLOAK_REGO, or put ../shared/tools/rego/rego, rego or opa on PATH' };
}

export interface PolicyCase {
  kind: string;
  input: unknown;
}

/**
 * Evaluates data.agent_policy.<kind> for every case in one engine run, all
 * with the same policy state; an entry is undefined where the rule has no
 * value (the agent refuses the request then).
 */
export async function evaluateBatch(
  engine: RegoEngine,
  policy: string,
  pstate: unknown,
  cases: PolicyCase[],
): Promise<unknown[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-rego-'));
  try {
    writeFileSync(join(dir, 'policy.rego'), policy);
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ pstate }));
    writeFileSync(join(dir, 'input.json'), JSON.stringify({ cases }));
    const query = 'x := {i: v | some i, c in input.cases; v := data.agent_policy[c.kind] with input as c.input}';
    const args =
      engine.flavour === 'opa'
        ? [
            'eval',
            '--format',
            'json',
            '-d',
            join(dir, 'policy.rego'),
            '-d',
            join(dir, 'state.json'),
            '-i',
            join(dir, 'input.json'),
            query,
          ]
        : ['eval', '-d', join(dir, 'policy.rego'), '-d', join(dir, 'state.json'), '-i', join(dir, 'input.json'), query];
    const out = await new Promise<string>((resolve, reject) =>
      execFile(engine.path, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${engine.path}: ${stderr || err.message}\n${stdout}`)) : resolve(stdout),
      ),
    );
    let x: Record<string, unknown> | undefined;
    if (engine.flavour === 'opa') x = JSON.parse(out).result?.[0]?.bindings?.x;
    else {
      const line = out.split('\n').find((l) => l.startsWith('{"expressions"'));
      if (!line || /errors?:/.test(out.replace(line, ''))) throw new Error(`rego engine failed:\n${out}`);
      x = JSON.parse(line).bindings.x;
    }
    if (!x) throw new Error(`rego engine gave no result:\n${out}`);
    return cases.map((_, i) => x![String(i)] ?? x![i as unknown as string]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The agent's verdict for a rule's value: true, or {allowed: true, ...}. */
export const allowed = (v: unknown): boolean =>
  v === true || (typeof v === 'object' && v !== null && (v as { allowed?: unknown }).allowed === true);

function pointer(path: string): string[] {
  return path
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Applies the add/remove ops a policy returns to {pstate} (RFC 6902, the subset the rules emit). */
export function applyOps(root: Record<string, any>, ops: Array<{ op: string; path: string; value?: unknown }>): void {
  for (const o of ops) {
    const keys = pointer(o.path);
    const last = keys.pop()!;
    let node: any = root;
    for (const k of keys) {
      if (typeof node[k] !== 'object' || node[k] === null) throw new Error(`policy op ${o.op} ${o.path}: no parent`);
      node = node[k];
    }
    if (o.op === 'add' || o.op === 'replace') node[last] = structuredClone(o.value);
    else if (o.op === 'remove') delete node[last];
    else throw new Error(`policy op ${o.op} is not supported`);
  }
}

/**
 * Replays requests in order the way the agent does: each one sees the
 * policy state the allowed ones before it left. Batches every run of
 * requests that cannot change the state into one engine run.
 */
export async function replay(
  engine: RegoEngine,
  policy: string,
  cases: PolicyCase[],
): Promise<{ verdicts: boolean[]; values: unknown[] }> {
  const root: Record<string, any> = { pstate: {} };
  const verdicts: boolean[] = [];
  const values: unknown[] = [];
  let i = 0;
  while (i < cases.length) {
    const batch = await evaluateBatch(engine, policy, root.pstate, cases.slice(i));
    for (const v of batch) {
      i++;
      verdicts.push(allowed(v));
      values.push(v);
      const ops = (v as { ops?: [] } | undefined)?.ops;
      if (allowed(v) && Array.isArray(ops) && ops.length) {
        applyOps(root, ops);
        break;
      }
    }
  }
  return { verdicts, values };
}
