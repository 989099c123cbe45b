export * from './names.ts';
export * from './schema.ts';
export * from './digest.ts';
export * from './read.ts';
export * from './workload-entry.ts';
// The resource path syntax is the model's, but src/oci (which may import only lib) needs it too: it lives in lib.
export { RESOURCE_SEGMENT, isResourcePath, parseResourcePath, kbsUri, resourceOfKbsUri, type ResourcePath } from '../lib/index.ts';
export { MANIFEST_ERRORS } from './errors.ts';
