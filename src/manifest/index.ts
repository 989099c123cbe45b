export { safeRelative, WORKLOAD_NAME, isWorkloadName, IMAGE_DIGEST, ENV_NAME, DEFAULT_CDH_URL, CDH_TIMEOUT_MS } from './names.ts';
export { OwnerUser, Owners, SecretGenerator, Secret, SecretDelivery, AgentPolicyEntry, SnpLaunch, TdxLaunch, VtpmLaunch, ReferenceValues, Workload, ManifestDocument, type WorkloadDocument, type SecretDocument, type ReferenceValuesDocument } from './schema.ts';
export { manifestDigest, signingInput } from './digest.ts';
export { checkManifestDocument, readManifest, type Manifest, type ManifestOwner, type ManifestWorkload, type ManifestSecret } from './read.ts';
export { workloadInitData, readWorkloadEntry, readSecretSpecs, WORKLOAD_ENTRY, type SecretSpec, type WorkloadSpec, type WorkloadInitData } from './workload-entry.ts';
// The resource path syntax is the model's, but src/oci (which may import only lib) needs it too: it lives in lib.
export { isCloakError, errorKind, ensure, type ErrorKind, LIB_ERRORS, type ErrorCatalogue, type ErrorCode, CloakError, fromHex, fromBase64, constantTimeEqual, padTo, toHex, toBase64, toBase64Url, isAllZero, ByteReader, ByteWriter, canonicalJson, x509, serialKey, revokedSerials, decodeInitData, initDataText, readInitData, initDataDigest, initDataDigestHex, encodeInitData, INITDATA_ALGORITHMS, type InitDataAlgorithm, INITDATA_VERSION, type InitDataDocument, isResourcePath, parseResourcePath, resourceOfKbsUri, type ResourcePath, RESOURCE_SEGMENT, RESOURCE_PATH_PATTERN, kbsUri, drainedAll, OffloadedHash } from '../lib/index.ts';
export { MANIFEST_ERRORS } from './errors.ts';
export { parseSealedSecret, verifySealedSecret, sealingPublicJwk, sealVaultSecret, SEALED_PREFIX, SEALED_VERSION, SEALED_MAX_LENGTH, type VaultPayload, type EnvelopePayload, type SealedSecret } from './sealed-secret.ts';
export { attestationAgentConfig, imageSecurityPolicy, dataHubConfig, type GuestServer } from './guest-config.ts';
