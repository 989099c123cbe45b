import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { CloakError, canonicalJson, fromBase64 } from '../lib/index.ts';
import { parseResourcePolicy, type ResourcePolicy } from '../policy/index.ts';
import { parseResourcePath } from './broker.ts';

/**
 * The manifest: the versioned, owner-signed source of truth for which
 * workloads exist, what they must measure, and exactly which secrets each
 * receives. Updates are monotonic (version + 1, naming the previous
 * digest) and need N of M owner signatures.
 */
export interface Manifest {
  version: number;
  previous?: string;
  owners: { approvals: number; users: Array<{ name: string; publicKey: KeyObject; roles: string[] }> };
  workloads: WorkloadEntry[];
  secrets: SecretEntry[];
  digest: string;
  document: Record<string, unknown>;
}

export interface WorkloadEntry {
  name: string;
  images: string[];
  tees: string[];
  measurements: string[];
  initData: string[]; // hex digests of the init-data
  policy?: ResourcePolicy;
  secrets: Array<{ name: string; file?: string; env?: string }>;
  keys: string[]; // further KBS resources (image layer keys)
}

export interface SecretEntry {
  name: string;
  resource: string;
  generate?: { type: 'random'; bytes: number } | { type: 'password'; length: number };
}

export interface ManifestSignature { user: string; signature: string }

const fail = (message: string): never => { throw new CloakError('MANIFEST_INVALID', message); };
const NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
const HEX = /^[0-9a-f]+$/;

/** What a signature covers: the manifest's digest, domain-separated. */
export const signingInput = (digest: string): Buffer => Buffer.from(`cloak-manifest-v1:${digest}`);

export function manifestDigest(document: unknown): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(document)).digest('hex');
}

export function parseManifest(text: string): Manifest {
  let doc: unknown;
  try { doc = parseYaml(text); } catch (e) { fail(`manifest is not valid YAML: ${(e as Error).message.split('\n')[0]}`); }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) fail('manifest must be a YAML mapping');
  const d = doc as Record<string, any>;
  if (!Number.isInteger(d.version) || d.version < 1) fail('manifest needs "version": a whole number ≥ 1');
  if (d.version > 1 && typeof d.previous !== 'string') fail(`version ${d.version} needs "previous": the digest of version ${d.version - 1}`);
  const owners = d.owners ?? fail('manifest needs "owners" (users with public keys, and approvals)');
  const users = (Array.isArray(owners.users) ? owners.users : fail('owners.users must be a list')).map((u: any, i: number) => {
    if (typeof u?.name !== 'string' || !NAME.test(u.name)) fail(`owners.users[${i}].name must be a lower-case name`);
    let publicKey: KeyObject;
    try { publicKey = createPublicKey(String(u.publicKey)); } catch { return fail(`owners.users[${i}] (${u.name}) has no valid PEM publicKey`); }
    if (!['ec', 'ed25519', 'rsa'].includes(publicKey.asymmetricKeyType ?? '')) fail(`owners.users[${i}] key type ${publicKey.asymmetricKeyType} is not supported`);
    return { name: u.name, publicKey, roles: Array.isArray(u.roles) ? u.roles.map(String) : ['owner'] };
  });
  if (new Set(users.map((u: any) => u.name)).size !== users.length) fail('owners.users has duplicate names');
  const ownerCount = users.filter((u: any) => u.roles.includes('owner')).length;
  const approvals = owners.approvals ?? 1;
  if (!Number.isInteger(approvals) || approvals < 1 || approvals > ownerCount) fail(`owners.approvals must be between 1 and the number of owners (${ownerCount})`);

  const secrets: SecretEntry[] = (d.secrets ?? []).map((s: any, i: number) => {
    if (typeof s?.name !== 'string' || !NAME.test(s.name)) fail(`secrets[${i}].name must be a lower-case name`);
    try { parseResourcePath(String(s.resource)); } catch { fail(`secrets[${i}].resource must be repo/type/tag`); }
    const g = s.generate;
    if (g !== undefined) {
      if (g.type === 'random' && Number.isInteger(g.bytes ?? 32) && (g.bytes ?? 32) >= 16 && (g.bytes ?? 32) <= 4096) return { name: s.name, resource: s.resource, generate: { type: 'random', bytes: g.bytes ?? 32 } };
      if (g.type === 'password' && Number.isInteger(g.length ?? 24) && (g.length ?? 24) >= 12 && (g.length ?? 24) <= 256) return { name: s.name, resource: s.resource, generate: { type: 'password', length: g.length ?? 24 } };
      fail(`secrets[${i}].generate must be {type: random, bytes: 16..4096} or {type: password, length: 12..256}`);
    }
    return { name: s.name, resource: s.resource };
  });
  const secretNames = new Set(secrets.map((s) => s.name));
  if (secretNames.size !== secrets.length) fail('secrets has duplicate names');

  const workloads: WorkloadEntry[] = (d.workloads ?? []).map((w: any, i: number) => {
    if (typeof w?.name !== 'string' || !NAME.test(w.name)) fail(`workloads[${i}].name must be a lower-case name`);
    const list = (v: unknown, what: string, re?: RegExp): string[] => {
      if (v === undefined) return [];
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && (!re || re.test(x)))) fail(`workloads[${i}].${what} must be a list of ${re ? 'valid ' : ''}strings`);
      return (v as string[]).map((x) => x.toLowerCase());
    };
    const ws = (w.secrets ?? []).map((s: any, j: number) => {
      if (!secretNames.has(s?.name)) fail(`workloads[${i}].secrets[${j}] names unknown secret "${s?.name}"`);
      if ((s.file === undefined) === (s.env === undefined)) fail(`workloads[${i}].secrets[${j}] needs exactly one of file or env`);
      return { name: s.name, file: s.file, env: s.env };
    });
    let policy: ResourcePolicy | undefined;
    if (w.policy !== undefined) policy = parseResourcePolicy(String(w.policy));
    return {
      name: w.name,
      images: list(w.images, 'images', /^sha256:[0-9a-f]{64}$/),
      tees: list(w.tees, 'tees'),
      measurements: list(w.referenceValues?.measurements, 'referenceValues.measurements', HEX),
      initData: list(w.referenceValues?.initData, 'referenceValues.initData', HEX),
      policy,
      secrets: ws,
      keys: list(w.keys, 'keys').map((k) => (parseResourcePath(k), k)),
    };
  });
  if (new Set(workloads.map((w) => w.name)).size !== workloads.length) fail('workloads has duplicate names');
  return { version: d.version, previous: d.previous, owners: { approvals, users }, workloads, secrets, digest: manifestDigest(d), document: d };
}

/** Counts distinct valid owner signatures over `digest` by the owners of `signers`. */
export function countApprovals(signers: Manifest, digest: string, signatures: ManifestSignature[]): { valid: string[]; invalid: string[] } {
  const valid = new Set<string>();
  const invalid: string[] = [];
  for (const s of signatures) {
    const user = signers.owners.users.find((u) => u.name === s.user && u.roles.includes('owner'));
    let ok = false;
    if (user && typeof s.signature === 'string') {
      try {
        const hash = user.publicKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
        ok = verifySignature(hash, signingInput(digest), user.publicKey, fromBase64(s.signature));
      } catch { ok = false; }
    }
    if (ok) valid.add(s.user);
    else invalid.push(String(s.user));
  }
  return { valid: [...valid], invalid };
}

/**
 * Decides whether `next` may replace `current`: version + 1, previous =
 * current's digest, and at least `current.owners.approvals` owner
 * signatures (for the first manifest: its own owners and threshold).
 */
export function checkUpdate(current: Manifest | undefined, next: Manifest, signatures: ManifestSignature[]): void {
  if (current) {
    if (next.version <= current.version) throw new CloakError('MANIFEST_ROLLBACK', `version ${next.version} is not newer than the manifest in force (${current.version}): an older manifest can never be applied again`, { status: 409 });
    if (next.version !== current.version + 1) throw new CloakError('MANIFEST_VERSION_GAP', `the next manifest must be version ${current.version + 1}, not ${next.version}`, { status: 409 });
    if (next.previous !== current.digest) throw new CloakError('MANIFEST_FORK', `"previous" (${next.previous}) is not the digest of the manifest in force (${current.digest}): fetch it with \`cloak manifest get\` and base the update on it`, { status: 409 });
  } else if (next.version !== 1) {
    throw new CloakError('MANIFEST_VERSION_GAP', `no manifest is in force: the first one must be version 1, not ${next.version}`, { status: 409 });
  }
  const signers = current ?? next;
  if (signatures.length === 0) throw new CloakError('MANIFEST_UNSIGNED', 'the manifest carries no signature: sign it with `cloak manifest sign`', { status: 403 });
  const { valid, invalid } = countApprovals(signers, next.digest, signatures);
  if (invalid.length) throw new CloakError('MANIFEST_SIGNATURE_INVALID', `signature(s) by ${invalid.join(', ')} do not verify with an owner key of the manifest in force`, { status: 403 });
  if (valid.length < signers.owners.approvals) {
    throw new CloakError('MANIFEST_APPROVALS', `${valid.length} owner approval(s) (${valid.join(', ')}); the manifest in force needs ${signers.owners.approvals}`, { status: 403 });
  }
}
