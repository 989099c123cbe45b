/** AR4SI trustworthiness claims (draft-ietf-rats-ar4si) and EAR status tiers. */
export const TRUST_CLAIMS = [
  'instance-identity',
  'configuration',
  'executables',
  'file-system',
  'hardware',
  'runtime-opaque',
  'storage-opaque',
  'sourced-data',
] as const;
export type TrustClaim = (typeof TRUST_CLAIMS)[number];
export type TrustVector = Partial<Record<TrustClaim, number>>;
export type EarStatus = 'none' | 'affirming' | 'warning' | 'contraindicated';

const RANK: Record<EarStatus, number> = { none: 0, affirming: 1, warning: 2, contraindicated: 3 };

/** The tier of one claim value (−128…127). */
export function tierOf(value: number): EarStatus {
  const a = Math.abs(value);
  if (a <= 1) return 'none';
  if (a <= 31) return 'affirming';
  if (a <= 95) return 'warning';
  return 'contraindicated';
}

/** The EAR status of a vector: its worst tier ("none" when no claim is made). */
export function statusOf(vector: TrustVector): EarStatus {
  let worst: EarStatus = 'none';
  for (const v of Object.values(vector)) {
    const t = tierOf(v ?? 0);
    if (RANK[t] > RANK[worst]) worst = t;
  }
  return worst;
}
