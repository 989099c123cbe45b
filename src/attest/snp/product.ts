import { CloakError } from '../../lib/index.ts';
import type { SnpReport } from './report.ts';

/**
 * The product line from the report's CPUID (v3+): family 19h models 00h-0Fh
 * Milan, 10h-1Fh and A0h-AFh Genoa; family 1Ah Turin. Undefined for v2
 * reports (then the VEK certificate says).
 */
export function productFromCpuid(report: SnpReport): string | undefined {
  const c = report.cpuid;
  if (!c) return undefined;
  if (c.family === 0x19 && c.model <= 0x0f) return 'Milan';
  if (c.family === 0x19 && ((c.model >= 0x10 && c.model <= 0x1f) || (c.model >= 0xa0 && c.model <= 0xaf)))
    return 'Genoa';
  if (c.family === 0x1a && c.model <= 0x1f) return 'Turin';
  throw new CloakError(
    'SNP_PRODUCT_UNKNOWN',
    `the report's CPUID family 0x${c.family.toString(16)} model 0x${c.model.toString(16)} is not an SEV-SNP product Cloak knows (Milan, Genoa, Turin)`,
  );
}

/** "Milan-B0" → "Milan". */
export const productFromName = (name: string | undefined): string | undefined => name?.split('-')[0];
