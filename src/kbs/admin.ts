import { CloakError, parseResourcePath } from '../lib/index.ts';
import {
  parseAttestationPolicy,
  parseResourcePolicy,
  DEFAULT_ATTESTATION_POLICY,
  DEFAULT_RESOURCE_POLICY,
} from '../policy/index.ts';
import type { Store, ResourceInfo, AuditRecord, AuditCount, AuditCountQuery, AuditQuery } from '../store/index.ts';
import type { ManifestSecret } from '../manifest/index.ts';
import { parseManifest, checkUpdate, type ManifestSignature } from './manifest.ts';
import { createHash, randomBytes } from 'node:crypto';

export type PolicyKind = 'attestation' | 'resource';
export const POLICY_KINDS: PolicyKind[] = ['attestation', 'resource'];
export const MAX_RESOURCE_BYTES = 1024 * 1024;

/** Admin operations behind /api/v1 and the CoCo admin endpoints; every change commits with its audit record, in one transaction. */
export class Admin {
  constructor(private readonly store: Store) {}

  async setResource(actor: string, path: string, value: Buffer): Promise<void> {
    parseResourcePath(path);
    if (value.length > MAX_RESOURCE_BYTES)
      throw new CloakError('ADMIN_RESOURCE_TOO_LARGE', `a resource may hold at most ${MAX_RESOURCE_BYTES} bytes`);
    await this.store.putResource(path, value, {
      kind: 'admin.resource.set',
      outcome: 'ok',
      actor,
      subject: path,
      details: { size: value.length },
    });
  }

  listResources(): Promise<ResourceInfo[]> {
    return this.store.listResources();
  }

  async deleteResource(actor: string, path: string): Promise<void> {
    parseResourcePath(path);
    const existed = await this.store.deleteResource(path, {
      kind: 'admin.resource.delete',
      outcome: 'ok',
      actor,
      subject: path,
    });
    if (!existed) throw new CloakError('ADMIN_RESOURCE_NOT_FOUND', `resource ${path} does not exist`);
  }

  async getPolicy(kind: string): Promise<{ kind: PolicyKind; text: string; default: boolean }> {
    const k = policyKind(kind);
    const text = await this.store.getPolicy(k);
    return {
      kind: k,
      text: text ?? (k === 'attestation' ? DEFAULT_ATTESTATION_POLICY : DEFAULT_RESOURCE_POLICY),
      default: text === undefined,
    };
  }

  /** Validates (compiles) before storing: a policy that does not compile is never applied. */
  async setPolicy(actor: string, kind: string, text: string): Promise<void> {
    const k = policyKind(kind);
    try {
      if (k === 'attestation') parseAttestationPolicy(text);
      else parseResourcePolicy(text);
    } catch (e) {
      await this.store.appendAudit({
        kind: 'admin.policy.set',
        outcome: 'refused',
        actor,
        subject: k,
        reason: (e as Error).message,
      });
      throw e;
    }
    await this.store.setPolicy(k, text, {
      kind: 'admin.policy.set',
      outcome: 'ok',
      actor,
      subject: k,
      details: { sha256: createHash('sha256').update(text).digest('hex') },
    });
  }

  async putReferenceValue(actor: string, name: string, value: unknown): Promise<void> {
    if (!/^[A-Za-z0-9._:@-]{1,256}$/.test(name))
      throw new CloakError('ADMIN_NAME_INVALID', 'a reference value name is 1-256 of letters, digits and . _ : @ -');
    await this.store.putReferenceValue(name, value, {
      kind: 'admin.refvalue.set',
      outcome: 'ok',
      actor,
      subject: name,
    });
  }

  listReferenceValues() {
    return this.store.listReferenceValues();
  }

  async deleteReferenceValue(actor: string, name: string): Promise<void> {
    if (
      !(await this.store.deleteReferenceValue(name, {
        kind: 'admin.refvalue.delete',
        outcome: 'ok',
        actor,
        subject: name,
      }))
    ) {
      throw new CloakError('ADMIN_REFVALUE_NOT_FOUND', `reference value ${name} does not exist`);
    }
  }

  /** Applies a signed manifest update (monotonic, N of M owners) and generates the secrets it asks for. */
  async setManifest(
    actor: string,
    text: string,
    signatures: ManifestSignature[],
  ): Promise<{ version: number; digest: string; generated: string[] }> {
    try {
      const next = parseManifest(text);
      const currentRecord = await this.store.getManifest();
      checkUpdate(currentRecord ? parseManifest(currentRecord.text) : undefined, next, signatures);
      const secrets: Array<{ path: string; value: Buffer }> = [];
      for (const s of next.secrets) {
        if (s.generate && !(await this.store.getResource(s.resource)))
          secrets.push({ path: s.resource, value: generateSecret(s.generate) });
      }
      const generated = secrets.map((g) => g.path);
      // The manifest, the secrets it generates and its audit record commit together: a crash leaves all or none.
      await this.store.putManifest(
        { version: next.version, digest: next.digest, text, signatures },
        {
          generated: secrets,
          audit: {
            kind: 'admin.manifest.set',
            outcome: 'ok',
            actor,
            subject: `v${next.version}`,
            details: { digest: next.digest, signers: signatures.map((s) => s.user), generated },
          },
        },
      );
      return { version: next.version, digest: next.digest, generated };
    } catch (e) {
      await this.store.appendAudit({
        kind: 'admin.manifest.set',
        outcome: 'refused',
        actor,
        reason: `${(e as CloakError).code ?? 'ERROR'}: ${(e as Error).message}`.slice(0, 1000),
      });
      throw e;
    }
  }

  async getManifest(version?: number): Promise<{
    version: number;
    digest: string;
    text: string;
    history: Array<{ version: number; digest: string; createdAt: string }>;
  }> {
    const record = await this.store.getManifest(version);
    if (!record)
      throw new CloakError(
        'ADMIN_NO_MANIFEST',
        version
          ? `manifest version ${version} does not exist`
          : 'no manifest has been set yet: `cloak manifest set FILE`',
      );
    return {
      version: record.version,
      digest: record.digest,
      text: record.text,
      history: await this.store.listManifests(),
    };
  }

  auditHead() {
    return this.store.auditHead();
  }

  queryAudit(q: AuditQuery): Promise<AuditRecord[]> {
    return this.store.queryAudit({ ...q, limit: Math.min(q.limit ?? 100, 1000) });
  }

  /** Refusals and challenges of the KBS endpoints, counted per hour, source and reason (not in the hash chain). */
  queryAuditCounts(q: AuditCountQuery): Promise<AuditCount[]> {
    return this.store.queryAuditCounts({ ...q, limit: Math.min(q.limit ?? 100, 1000) });
  }
}

function policyKind(kind: string): PolicyKind {
  if (!(POLICY_KINDS as string[]).includes(kind))
    throw new CloakError('ADMIN_POLICY_KIND', `policy kind "${kind}" is unknown (attestation or resource)`);
  return kind as PolicyKind;
}

const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

function generateSecret(g: NonNullable<ManifestSecret['generate']>): Buffer {
  if (g.type === 'random') return randomBytes(g.bytes);
  // Rejection sampling keeps every character equally likely.
  let out = '';
  while (out.length < g.length) {
    for (const b of randomBytes(g.length * 2)) {
      if (b < 256 - (256 % PASSWORD_ALPHABET.length) && out.length < g.length)
        out += PASSWORD_ALPHABET[b % PASSWORD_ALPHABET.length];
    }
  }
  return Buffer.from(out);
}
