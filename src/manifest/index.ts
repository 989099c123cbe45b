export { safeRelative, WORKLOAD_NAME, isWorkloadName, IMAGE_DIGEST, ENV_NAME } from './names.ts';
export { OwnerUser, Owners, SecretGenerator, Secret, SecretDelivery, AgentPolicyEntry, Workload, ManifestDocument, type WorkloadDocument, type SecretDocument } from './schema.ts';
export { manifestDigest, signingInput } from './digest.ts';
export { checkManifestDocument, readManifest, type Manifest, type ManifestOwner, type ManifestWorkload, type ManifestSecret } from './read.ts';
export { workloadInitData, readWorkloadEntry, WORKLOAD_ENTRY, type SecretSpec, type WorkloadSpec, type WorkloadInitData } from './workload-entry.ts';
// The resource path syntax is the model's, but src/oci (which may import only lib) needs it too: it lives in lib.
export { RESOURCE_SEGMENT, isResourcePath, parseResourcePath, kbsUri, resourceOfKbsUri, type ResourcePath } from '../lib/index.ts';
export { MANIFEST_ERRORS } from './errors.ts';
