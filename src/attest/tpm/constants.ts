/** TPM 2.0 constants used by quotes (TCG TPM 2.0 Part 2: Structures). */
export const TPM_GENERATED_VALUE = 0xff544347;
export const TPM_ST_ATTEST_QUOTE = 0x8018;

export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  RSASSA: 0x0014,
  RSAPSS: 0x0016,
  ECDSA: 0x0018,
  ECC: 0x0023,
} as const;

export const TPM_ECC_NIST_P256 = 0x0003;

/** Node hash names and digest sizes of the TPM hash algorithms we accept. */
export const TPM_HASHES: Record<number, { name: string; size: number }> = {
  [TPM_ALG.SHA1]: { name: 'sha1', size: 20 },
  [TPM_ALG.SHA256]: { name: 'sha256', size: 32 },
  [TPM_ALG.SHA384]: { name: 'sha384', size: 48 },
  [TPM_ALG.SHA512]: { name: 'sha512', size: 64 },
};

/** Upper bounds that keep hostile sizes from allocating or looping far. */
export const MAX_PCR_BANKS = 16;
export const MAX_SELECT_BYTES = 4;
