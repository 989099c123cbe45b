import type { Store } from '../store/index.ts';

/**
 * Reference values as policies see them (`refs` in CEL): every named record,
 * plus `measurements` (all recorded launch measurements, lower-case hex) and
 * `images` (all recorded image records) gathered across records.
 */
export async function referenceValuesForPolicy(store: Store): Promise<Record<string, unknown>> {
  const records = await store.listReferenceValues();
  const measurements = new Set<string>();
  const images: unknown[] = [];
  const byName: Record<string, unknown> = {};
  for (const { name, value } of records) {
    byName[name] = value;
    if (!value || typeof value !== 'object') continue;
    const v = value as Record<string, unknown>;
    for (const m of [v.measurement, ...(Array.isArray(v.measurements) ? v.measurements : [])]) {
      if (typeof m === 'string') measurements.add(m.toLowerCase());
    }
    if (typeof v.manifestDigest === 'string') images.push(v);
  }
  return { measurements: [...measurements], images, named: byName };
}
