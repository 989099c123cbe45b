import { CloakError } from '../lib/index.ts';
import { allowsRelease, type ResourceInput } from '../policy/index.ts';
import { readWorkloadEntry } from '../manifest/index.ts';
import type { Manifest, WorkloadEntry } from './manifest.ts';
import type { EarView } from './ear.ts';
import { launchFails, launchOf } from './launch-pins.ts';

const deny = (message: string) => new CloakError('KBS_POLICY_DENY', message);

/** The workload an attested token speaks for: the `cloak.toml` entry of its (hardware-bound) init-data. */
function workloadOf(ear: EarView): { name: string; images: string[] } {
  return readWorkloadEntry(ear.initData.data, (m) =>
    deny(`${m} (the manifest releases secrets only to the workloads their init-data names)`),
  );
}

/**
 * Release decision from the manifest: the token must speak for a workload
 * the manifest lists, match its TEEs and reference values, and ask for one
 * of that workload's own secrets or keys. Returns the workload on success.
 */
export function releaseByManifest(manifest: Manifest, ear: EarView, input: ResourceInput): WorkloadEntry {
  const { name, images } = workloadOf(ear);
  const w = manifest.workloads.find((x) => x.name === name);
  if (!w) throw deny(`manifest version ${manifest.version} has no workload "${name}"`);
  if (w.tees.length && !w.tees.includes(ear.tee))
    throw deny(`workload "${name}" may not run on TEE "${ear.tee}" (manifest allows ${w.tees.join(', ')})`);
  if (w.initData.length ? !(ear.initDataDigest && w.initData.includes(ear.initDataDigest)) : !ear.insecure) {
    throw deny(
      w.initData.length
        ? `workload "${name}": the init-data digest ${ear.initDataDigest ?? '(none)'} is not in its referenceValues.initData (the pod was started with other init-data, e.g. another agent policy; \`cloak generate\` records the digest of the init-data it writes)`
        : `workload "${name}" lists no referenceValues.initData: on a hardware TEE the manifest must pin the init-data (its agent policy and KBS settings); \`cloak generate\` records it`,
    );
  }
  const launch = launchOf(ear, w);
  if (launchFails(launch)) throw deny(`workload "${name}": ${launch.reason}`);
  const foreign = images.filter((i) => !w.images.includes(i));
  if (w.images.length && foreign.length)
    throw deny(`workload "${name}" names image ${foreign[0]}, which the manifest does not list for it`);
  const own = new Set([...w.secrets.map((s) => manifest.secrets.find((x) => x.name === s.name)!.resource), ...w.keys]);
  if (!own.has(input.resource.path))
    throw deny(
      `workload "${name}" may not read ${input.resource.path}: it is not one of its secrets in manifest version ${manifest.version}`,
    );
  if (w.policy && !allowsRelease(w.policy, input))
    throw deny(`workload "${name}": its manifest policy does not release ${input.resource.path}`);
  return w;
}
