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

const Name = Type.String({
  pattern: WORKLOAD_NAME.source,
  description: 'a lower-case name (letters, digits, . and -; at most 63)',
});
const ResourcePath = Type.String({
  pattern: RESOURCE_PATH_PATTERN,
  description: 'a KBS resource path: repo/type/tag of letters, digits, . _ -',
});
const Hex = Type.String({ pattern: '^[0-9a-f]+$', description: 'lower-case hex' });

export const OwnerUser = Type.Object(
  {
    name: Name,
    publicKey: Type.String({ description: 'a PEM public key (EC, Ed25519 or RSA)' }),
    roles: Type.Optional(Type.Array(Type.String(), { description: 'a list of roles (default [owner])' })),
  },
  { description: 'a user: name, publicKey, roles' },
);

export const Owners = Type.Object(
  {
    approvals: Type.Optional(
      Type.Integer({ minimum: 1, description: 'how many owner signatures an update needs (default 1)' }),
    ),
    users: Type.Array(OwnerUser, { description: 'a list of users with public keys' }),
  },
  { description: 'the owners: users with public keys, and approvals' },
);

export const SecretGenerator = Type.Union(
  [
    Type.Object({ type: Type.Literal('random'), bytes: Type.Optional(Type.Integer({ minimum: 16, maximum: 4096 })) }),
    Type.Object({ type: Type.Literal('password'), length: Type.Optional(Type.Integer({ minimum: 12, maximum: 256 })) }),
  ],
  { description: '{type: random, bytes: 16..4096} or {type: password, length: 12..256}' },
);

export const Secret = Type.Object(
  {
    name: Name,
    resource: ResourcePath,
    generate: Type.Optional(SecretGenerator),
  },
  { description: 'a secret: name, resource, and optionally how the server generates it' },
);

/** Where a workload receives one secret: exactly one of a file (under the secrets directory) or an environment variable. */
export const SecretDelivery = Type.Object(
  {
    name: Type.String({ description: 'the name of a secret under secrets' }),
    file: Type.Optional(Type.String({ description: 'a relative file name' })),
    env: Type.Optional(Type.String({ description: 'an environment variable name' })),
    sealed: Type.Optional(
      Type.Boolean({
        description: 'true or false (true: the variable carries a CoCo sealed secret the guest unseals; env only)',
      }),
    ),
  },
  { description: 'a secret of the workload: name, and file or env (and sealed)' },
);

/** What the workload lets the host do beyond the Kata agent policy's defaults (read by `cloak generate`). */
export const AgentPolicyEntry = Type.Object(
  {
    logs: Type.Optional(Type.Boolean({ description: 'true or false' })),
    stdin: Type.Optional(Type.Boolean({ description: 'true or false' })),
    exec: Type.Optional(
      Type.Array(
        Type.Object({
          container: Type.String(),
          command: Type.Array(Type.String(), { minItems: 1 }),
        }),
        { description: 'a list of {container, command: [argv…]}' },
      ),
    ),
  },
  { description: '{logs, stdin, exec}' },
);

const Hex96 = Type.String({ pattern: '^[0-9a-f]{96}$', description: '96 lower-case hex digits (48 bytes)' });
const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$', description: '64 lower-case hex digits (a SHA-256 PCR value)' });

/*
 * The guest's launch reference values, per TEE: what booted (firmware,
 * kernel, initrd, command line). Each list holds alternatives (e.g. two guest
 * image releases); within one entry every value given must match. Entries
 * take no other member: a misspelt register would pin nothing. (A misspelt
 * kind pins nothing either, and hardware evidence without a pin gets nothing.)
 */
export const SnpLaunch = Type.Object(
  { measurement: Hex96 },
  { additionalProperties: false, description: '{measurement: <96 hex>} (the SNP report MEASUREMENT)' },
);
export const TdxLaunch = Type.Object(
  {
    mr_td: Hex96,
    rtmr0: Type.Optional(Hex96),
    rtmr1: Hex96,
    rtmr2: Hex96,
    rtmr3: Type.Optional(Hex96),
  },
  { additionalProperties: false, description: '{mr_td, rtmr1, rtmr2, and optionally rtmr0, rtmr3} (96 hex each)' },
);
export const VtpmLaunch = Type.Object(
  {
    pcrs: Type.Record(Type.String({ pattern: '^([0-79]|1[0-9]|2[0-3])$' }), Hex64, {
      minProperties: 1,
      additionalProperties: false,
      description:
        'a map of PCR index (0..23, not 8: PCR 8 holds the init-data, pinned by initData) to its SHA-256 value',
    }),
  },
  { additionalProperties: false, description: '{pcrs: {<index>: <64 hex>, …}} (SHA-256 bank)' },
);

export const ReferenceValues = Type.Object(
  {
    measurements: Type.Optional(Type.Array(Hex, { description: 'a list of lower-case hex launch measurements' })),
    initData: Type.Optional(Type.Array(Hex, { description: 'a list of lower-case hex init-data digests' })),
    snp: Type.Optional(Type.Array(SnpLaunch, { description: 'a list of {measurement}' })),
    tdx: Type.Optional(Type.Array(TdxLaunch, { description: 'a list of {mr_td, rtmr0?, rtmr1, rtmr2, rtmr3?}' })),
    vtpm: Type.Optional(Type.Array(VtpmLaunch, { description: 'a list of {pcrs: {<index>: <hex>}}' })),
  },
  { description: '{measurements, initData, snp, tdx, vtpm}' },
);

export const Workload = Type.Object(
  {
    name: Name,
    images: Type.Optional(
      Type.Array(Type.String({ pattern: IMAGE_DIGEST.source }), {
        description: 'a list of sha256:<64 hex> image digests',
      }),
    ),
    tees: Type.Optional(Type.Array(Type.String(), { description: 'a list of TEE names' })),
    referenceValues: Type.Optional(ReferenceValues),
    policy: Type.Optional(Type.String({ description: 'a resource policy (CEL expression)' })),
    secrets: Type.Optional(Type.Array(SecretDelivery, { description: 'a list of {name, file | env}' })),
    keys: Type.Optional(Type.Array(ResourcePath, { description: 'a list of KBS resource paths (image layer keys)' })),
    agentPolicy: Type.Optional(AgentPolicyEntry),
  },
  { description: 'a workload: name, images, tees, referenceValues, policy, secrets, keys, agentPolicy' },
);

export const ManifestDocument = Type.Object(
  {
    version: Type.Integer({ minimum: 1, description: 'a whole number ≥ 1' }),
    previous: Type.Optional(Type.String({ description: 'the digest of the previous version' })),
    owners: Owners,
    secrets: Type.Optional(Type.Array(Secret, { description: 'a list of secrets' })),
    workloads: Type.Optional(Type.Array(Workload, { description: 'a list of workloads' })),
  },
  {
    $id: 'https://cloak.dev/schemas/manifest-v1.json',
    title: 'Cloak manifest',
    description: 'a mapping with version, owners, secrets and workloads',
  },
);

export type ManifestDocument = Static<typeof ManifestDocument>;
export type WorkloadDocument = Static<typeof Workload>;
export type SecretDocument = Static<typeof Secret>;
export type SecretDelivery = Static<typeof SecretDelivery>;
export type SecretGenerator = Static<typeof SecretGenerator>;
export type AgentPolicyEntry = Static<typeof AgentPolicyEntry>;
export type ReferenceValuesDocument = Static<typeof ReferenceValues>;
