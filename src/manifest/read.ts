import { createPublicKey, type KeyObject } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { CloakError, isResourcePath } from '../lib/index.ts';
import { ManifestDocument, type SecretGenerator } from './schema.ts';
import { manifestDigest } from './digest.ts';
import type { AgentPolicyEntry, ReferenceValuesDocument } from './schema.ts';

/**
 * The manifest: the versioned, owner-signed source of truth for which
 * workloads exist, what they must measure, and exactly which secrets each
 * receives. This is the checked form of a `ManifestDocument`, defaults
 * applied; `P` is how a workload's resource policy is held (its CEL text
 * here; the key broker compiles it).
 */
export interface Manifest<P = string> {
  version: number;
  previous?: string;
  owners: { approvals: number; users: ManifestOwner[] };
  workloads: Array<ManifestWorkload<P>>;
  secrets: ManifestSecret[];
  digest: string;
  document: ManifestDocument;
}

export interface ManifestOwner {
  name: string;
  publicKey: KeyObject;
  roles: string[];
}

export interface ManifestWorkload<P = string> {
  name: string;
  images: string[];
  tees: string[];
  measurements: string[];
  initData: string[]; // hex digests of the init-data
  /** The guest's launch reference values per TEE (alternatives; each entry matches as a whole). */
  launch: Required<Pick<ReferenceValuesDocument, 'snp' | 'tdx' | 'vtpm'>>;
  policy?: P;
  secrets: Array<{ name: string; file?: string; env?: string; sealed?: boolean }>;
  keys: string[]; // further KBS resources (image layer keys)
  agentPolicy?: AgentPolicyEntry;
}

export interface ManifestSecret {
  name: string;
  resource: string;
  generate?: { type: 'random'; bytes: number } | { type: 'password'; length: number };
}

const fail = (message: string): never => {
  throw new CloakError('MANIFEST_INVALID', message);
};

/** `/workloads/0/name` → `workloads[0].name`. */
const where = (path: string) =>
  path
    .split('/')
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '');

/** Checks a parsed document against the manifest schema (structure only: no keys parsed, no cross-references). */
export function checkManifestDocument(doc: unknown, what = 'manifest'): ManifestDocument {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) fail(`${what} must be a YAML mapping`);
  const error = Value.Errors(ManifestDocument, doc).First();
  if (error) {
    const description = (error.schema as { description?: string }).description;
    fail(`${what}: ${where(error.path) || 'the document'} must be ${description ?? error.message.toLowerCase()}`);
  }
  return doc as ManifestDocument;
}

/** Parses and checks a manifest (YAML): the schema, then what a schema cannot say (keys, references, uniqueness, thresholds). */
export function readManifest(text: string): Manifest {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    fail(`manifest is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const d = checkManifestDocument(doc);
  if (d.version > 1 && d.previous === undefined)
    fail(`version ${d.version} needs "previous": the digest of version ${d.version - 1}`);

  const users = d.owners.users.map((u, i) => {
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey(u.publicKey);
    } catch {
      return fail(`owners.users[${i}] (${u.name}) has no valid PEM publicKey`);
    }
    if (!['ec', 'ed25519', 'rsa'].includes(publicKey.asymmetricKeyType ?? ''))
      fail(`owners.users[${i}] key type ${publicKey.asymmetricKeyType} is not supported`);
    return { name: u.name, publicKey, roles: u.roles ?? ['owner'] };
  });
  unique(users, 'owners.users');
  const ownerCount = users.filter((u) => u.roles.includes('owner')).length;
  const approvals = d.owners.approvals ?? 1;
  if (approvals > ownerCount) fail(`owners.approvals must be between 1 and the number of owners (${ownerCount})`);

  const secrets: ManifestSecret[] = (d.secrets ?? []).map((s, i) => {
    if (!isResourcePath(s.resource)) fail(`secrets[${i}].resource must be repo/type/tag`);
    return { name: s.name, resource: s.resource, ...(s.generate ? { generate: withDefaults(s.generate) } : {}) };
  });
  unique(secrets, 'secrets');
  const secretNames = new Set(secrets.map((s) => s.name));

  const workloads: ManifestWorkload[] = (d.workloads ?? []).map((w, i) => {
    const secrets = (w.secrets ?? []).map((s, j) => {
      if (!secretNames.has(s.name)) fail(`workloads[${i}].secrets[${j}] names unknown secret "${s.name}"`);
      if ((s.file === undefined) === (s.env === undefined))
        fail(`workloads[${i}].secrets[${j}] needs exactly one of file or env`);
      if (s.sealed && s.env === undefined)
        fail(
          `workloads[${i}].secrets[${j}] is sealed: a sealed secret is delivered as a variable (env), which the guest unseals`,
        );
      return { name: s.name, file: s.file, env: s.env, ...(s.sealed ? { sealed: true } : {}) };
    });
    const keys = (w.keys ?? []).map((k, j) =>
      isResourcePath(k) ? k.toLowerCase() : fail(`workloads[${i}].keys[${j}] must be repo/type/tag`),
    );
    const lower = (v: string[] | undefined) => (v ?? []).map((x) => x.toLowerCase());
    return {
      name: w.name,
      images: w.images ?? [],
      tees: lower(w.tees),
      measurements: w.referenceValues?.measurements ?? [],
      initData: w.referenceValues?.initData ?? [],
      launch: {
        snp: w.referenceValues?.snp ?? [],
        tdx: w.referenceValues?.tdx ?? [],
        vtpm: w.referenceValues?.vtpm ?? [],
      },
      policy: w.policy,
      secrets,
      keys,
      ...(w.agentPolicy ? { agentPolicy: w.agentPolicy } : {}),
    };
  });
  unique(workloads, 'workloads');
  return {
    version: d.version,
    previous: d.previous,
    owners: { approvals, users },
    workloads,
    secrets,
    digest: manifestDigest(d),
    document: d,
  };
}

function unique(list: Array<{ name: string }>, what: string): void {
  if (new Set(list.map((x) => x.name)).size !== list.length) fail(`${what} has duplicate names`);
}

function withDefaults(g: SecretGenerator): NonNullable<ManifestSecret['generate']> {
  return g.type === 'random' ? { type: 'random', bytes: g.bytes ?? 32 } : { type: 'password', length: g.length ?? 24 };
}
