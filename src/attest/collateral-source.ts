/** Fetches collateral (certificates, CRLs, TCB info) by URL; undefined when unavailable. */
export interface CollateralSource {
  get(url: string): Promise<Uint8Array | undefined>;
}
