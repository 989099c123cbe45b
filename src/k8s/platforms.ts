import { CloakError } from '../lib/errors.ts';
import type { InitDataAlgorithm } from '../lib/index.ts';

/**
 * Where confidential pods run, and what that fixes for `cloak generate`:
 * the runtime class, the digest algorithm of the init-data (what the
 * hardware field holds), and the evidence the KBS will see from the pod
 * (the TEEs the manifest allows the workload).
 */
export interface Platform {
  name: string;
  runtimeClass: string;
  algorithm: InitDataAlgorithm;
  tees: string[];
  /** Where the init-data digest ends up, for help text and notes. */
  binding: string;
  description: string;
}

export const PLATFORMS: Record<string, Platform> = {
  azure: {
    name: 'azure',
    runtimeClass: 'kata-remote',
    algorithm: 'sha256',
    tees: ['az-snp-vtpm', 'az-tdx-vtpm'],
    binding: 'vTPM PCR 8 (sha256 only)',
    description: 'CoCo peer pods (cloud-api-adaptor) on Azure: each pod is an SNP or TDX confidential VM with a vTPM',
  },
  snp: {
    name: 'snp',
    runtimeClass: 'kata-qemu-snp',
    algorithm: 'sha256',
    tees: ['snp'],
    binding: 'SEV-SNP HOST_DATA (32 bytes)',
    description: 'bare-metal CoCo on AMD SEV-SNP hosts',
  },
  tdx: {
    name: 'tdx',
    runtimeClass: 'kata-qemu-tdx',
    algorithm: 'sha384',
    tees: ['tdx'],
    binding: 'TDX MRCONFIGID (48 bytes)',
    description: 'bare-metal CoCo on Intel TDX hosts',
  },
};

/** AKS's Confidential Containers preview: retired, and its runtime never reads init-data. */
export const RETIRED_RUNTIME_CLASSES: Record<string, string> = {
  'kata-cc-isolation':
    "runtime class kata-cc-isolation is AKS's Confidential Containers preview, retired in March 2026; its runtime ignores the cc_init_data annotation, so the pod gets none of the init-data (no agent policy, no KBS settings, no pinned certificate). Use --platform azure (CoCo peer pods) instead",
};

export function platformNamed(name: string): Platform {
  const p = PLATFORMS[name];
  if (!p)
    throw new CloakError(
      'K8S_PLATFORM_UNKNOWN',
      `unknown platform "${name}" (known: ${Object.keys(PLATFORMS).join(', ')})`,
    );
  return p;
}
