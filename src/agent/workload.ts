import { parse as parseToml } from 'smol-toml';
import { CloakError } from '../lib/index.ts';
import { readWorkloadEntry, type WorkloadSpec } from '../manifest/index.ts';

export type { SecretSpec, WorkloadSpec } from '../manifest/index.ts';
// The local runner writes the init-data the agent reads (src/runtime reaches the model through the agent).
export { workloadInitData } from '../manifest/index.ts';

const invalid = (message: string) => new CloakError('AGENT_INITDATA_INVALID', message);

/** Parses CoCo init-data (TOML: version, algorithm, [data]) and the Cloak workload entry (`cloak.toml`) in it. */
export function parseWorkloadInitData(text: string): WorkloadSpec {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw invalid(`init-data is not valid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  return readWorkloadEntry(doc.data, invalid);
}
