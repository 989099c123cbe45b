import { arch } from 'node:os';
import { CloakError } from '../lib/index.ts';
import type { Platform } from './manifest.ts';

/** This machine's platform in OCI terms (Node's x64 is amd64). */
export function hostPlatform(): Platform {
  const a = arch();
  return { os: 'linux', architecture: a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a };
}

/** `--platform OS/ARCH[/VARIANT]`. */
export function parsePlatform(s: string): Platform {
  const m = /^([a-z0-9]+)\/([a-z0-9_]+)(?:\/([a-z0-9]+))?$/.exec(s);
  if (!m) throw new CloakError('USAGE_PLATFORM', `--platform "${s}" must be OS/ARCH[/VARIANT], e.g. linux/amd64`);
  return { os: m[1]!, architecture: m[2]!, ...(m[3] ? { variant: m[3] } : {}) };
}
