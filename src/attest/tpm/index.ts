export {
  TPM_GENERATED_VALUE,
  TPM_ST_ATTEST_QUOTE,
  TPM_ALG,
  TPM_ECC_NIST_P256,
  TPM_HASHES,
  MAX_PCR_BANKS,
  MAX_SELECT_BYTES,
} from './constants.ts';
export {
  readPcrSelection,
  encodePcrSelection,
  parseTpmQuote,
  tpmHash,
  type PcrBankSelection,
  type TpmQuoteInfo,
} from './attest.ts';
export { parseTpmSignature, readQuoteSignature, verifyTpmSignature, type TpmSignature } from './signature.ts';
export { parseTpmPublic, readAkPublic, spkiDer } from './public.ts';
export {
  verifyTpmQuote,
  checkPcrDigest,
  readPcrValues,
  readJsonBytes,
  type TpmQuoteInput,
  type VerifiedTpmQuote,
} from './quote.ts';
export {
  parseTpmEvidence,
  evidenceAsJson,
  pcrClaims,
  quoteClaims,
  expectedInitDataPcr,
  makeTpmVerifier,
  type TpmTrust,
  TPM_REPORT_DATA_SIZE,
  INITDATA_PCR,
  VTPM_BINDING_BYTES,
  tpmVerifier,
} from './verifier.ts';
export {
  tpmCommand,
  tpmResponseReader,
  TPM_CC,
  TPM_ST_NO_SESSIONS,
  TPM_ST_SESSIONS,
  TPM_RS_PW,
  TPM_RH_OWNER,
  u16,
  u32,
  tpm2b,
  type TpmResponseCodes,
} from './wire.ts';
