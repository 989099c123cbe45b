import { Type, type Static } from '@sinclair/typebox';
import { RESOURCE_PATH_PATTERN } from '../lib/index.ts';
import { IMAGE_DIGEST, WORKLOAD_NAME } from './names.ts';

/*
 * The manifest document as its owners write it (YAML) and sign it. One schema
 * gives the TypeScript types, the structural validation (`readManifest`,
 * `checkManifestDocument`) and the JSON Schema the CLI and the portal show.
 * Each `description` completes "… must be": it is also the error message.
 * Members the schema does not name are kept (and signed) but not read.
 */

const Name = Type.String({ pattern: WORKLOAD_NAME.source, description: 'a lower-case name (letters, digits, . and -; at most 63)' });
const ResourcePath = Type.String({ pattern: RESOURCE_PATH_PATTERN, description: 'a KBS resource path: repo/type/tag of letters, digits, . _ -' });
const Hex = Type.String({ pattern: '^[0-9a-f]+$', description: 'lower-case hex' });

export const OwnerUser = Type.Object({
  name: Name,
  publicKey: Type.String({ description: 'a PEM public key (EC, Ed25519 or RSA)' }),
  roles: Type.Optional(Type.Array(Type.String(), { description: 'a list of roles (default [owner])' })),
}, { description: 'a user: name, publicKey, roles' });

export const Owners = Type.Object({
  approvals: Type.Optional(Type.Integer({ minimum: 1, description: 'how many owner signatures an update needs (default 1)' })),
  users: Type.Array(OwnerUser, { description: 'a list of users with public keys' }),
}, { description: 'the owners: users with public keys, and approvals' });

export const SecretGenerator = Type.Union([
  Type.Object({ type: Type.Literal('random'), bytes: Type.Optional(Type.Integer({ minimum: 16, maximum: 4096 })) }),
  Type.Object({ type: Type.Literal('password'), length: Type.Optional(Type.Integer({ minimum: 12, maximum: 256 })) }),
], { description: '{type: random, bytes: 16..4096} or {type: password, length: 12..256}' });

export const Secret = Type.Object({
  name: Name,
  resource: ResourcePath,
  generate: Type.Optional(SecretGenerator),
}, { description: 'a secret: name, resource, and optionally how the server generates it' });

/** Where a workload receives one secret: exactly one of a file (under the secrets directory) or an environment variable. */
export const SecretDelivery = Type.Object({
  name: Type.String({ description: 'the name of a secret under secrets' }),
  file: Type.Optional(Type.String({ description: 'a relative file name' })),
  env: Type.Optional(Type.String({ description: 'an environment variable name' })),
  sealed: Type.Optional(Type.Boolean({ description: 'true or false (true: the variable carries a CoCo sealed secret the guest unseals; env only)' })),
}, { description: 'a secret of the workload: name, and file or env (and sealed)' });

/** What the workload lets the host do beyond the Kata agent policy's defaults (read by `cloak generate`). */
export const AgentPolicyEntry = Type.Object({
  logs: Type.Optional(Type.Boolean({ description: 'true or false' })),
  stdin: Type.Optional(Type.Boolean({ description: 'true or false' })),
  exec: Type.Optional(Type.Array(Type.Object({
    container: Type.String(),
    command: Type.Array(Type.String(), { minItems: 1 }),
  }), { description: 'a list of {container, command: [argv…]}' })),
}, { description: '{logs, stdin, exec}' });

export const Workload = Type.Object({
  name: Name,
  images: Type.Optional(Type.Array(Type.String({ pattern: IMAGE_DIGEST.source }), { description: 'a list of sha256:<64 hex> image digests' })),
  tees: Type.Optional(Type.Array(Type.String(), { description: 'a list of TEE names' })),
  referenceValues: Type.Optional(Type.Object({
    measurements: Type.Optional(Type.Array(Hex, { description: 'a list of lower-case hex launch measurements' })),
    initData: Type.Optional(Type.Array(Hex, { description: 'a list of lower-case hex init-data digests' })),
  }, { description: '{measurements, initData}' })),
  policy: Type.Optional(Type.String({ description: 'a resource policy (CEL expression)' })),
  secrets: Type.Optional(Type.Array(SecretDelivery, { description: 'a list of {name, file | env}' })),
  keys: Type.Optional(Type.Array(ResourcePath, { description: 'a list of KBS resource paths (image layer keys)' })),
  agentPolicy: Type.Optional(AgentPolicyEntry),
}, { description: 'a workload: name, images, tees, referenceValues, policy, secrets, keys, agentPolicy' });

export const ManifestDocument = Type.Object({
  version: Type.Integer({ minimum: 1, description: 'a whole number ≥ 1' }),
  previous: Type.Optional(Type.String({ description: 'the digest of the previous version' })),
  owners: Owners,
  secrets: Type.Optional(Type.Array(Secret, { description: 'a list of secrets' })),
  workloads: Type.Optional(Type.Array(Workload, { description: 'a list of workloads' })),
}, { $id: 'https://cloak.dev/schemas/manifest-v1.json', title: 'Cloak manifest', description: 'a mapping with version, owners, secrets and workloads' });

export type ManifestDocument = Static<typeof ManifestDocument>;
export type WorkloadDocument = Static<typeof Workload>;
export type SecretDocument = Static<typeof Secret>;
export type SecretDelivery = Static<typeof SecretDelivery>;
export type SecretGenerator = Static<typeof SecretGenerator>;
export type AgentPolicyEntry = Static<typeof AgentPolicyEntry>;
