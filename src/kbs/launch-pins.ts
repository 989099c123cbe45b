import { checkLaunch, type LaunchCheck, type LaunchPins } from '../policy/index.ts';
import { readWorkloadEntry } from '../manifest/index.ts';
import type { Manifest, WorkloadEntry } from './manifest.ts';

/** The manifest workload the init-data's `cloak.toml` entry names, if the manifest lists it. */
export function workloadNamed(
  manifest: Manifest | undefined,
  initDataClaims: Record<string, unknown>,
): WorkloadEntry | undefined {
  if (!manifest) return undefined;
  let name: string;
  try {
    name = readWorkloadEntry(initDataClaims.data, (m) => new Error(m)).name;
  } catch {
    return undefined;
  }
  return manifest.workloads.find((w) => w.name === name);
}

/** A workload's launch pins; the recorded reference values' measurements stand in where it lists none (and without a workload). */
export function launchPinsOf(w: WorkloadEntry | undefined, recorded: string[] = []): LaunchPins {
  return {
    measurements: w?.measurements.length ? w.measurements : recorded,
    snp: w?.launch.snp ?? [],
    tdx: w?.launch.tdx ?? [],
    vtpm: w?.launch.vtpm ?? [],
  };
}

/** The launch check for verified claims and the workload they speak for. */
export function launchOf(
  a: { tee: string; insecure: boolean; claims: Record<string, unknown> },
  w: WorkloadEntry | undefined,
  recorded: string[] = [],
): LaunchCheck {
  return checkLaunch(a.tee, a.insecure, a.claims, launchPinsOf(w, recorded), w?.name);
}

/** True when a refusal should carry the launch reason: something was asked for and not met. */
export const launchFails = (l: LaunchCheck): boolean => !l.pinned && (l.required || l.listed);
