/** The AMD certificates of one product line, PEM, with the ARK's pinned SHA-256 fingerprint (hex). */
export interface ProductRoots {
  product: string;
  arkSha256: string;
  ark: string;
  ask: string;
  asvk: string;
}
