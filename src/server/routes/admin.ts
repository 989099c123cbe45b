import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CloakError, fromBase64 } from '../../lib/index.ts';
import { Problem, type Admin } from '../../kbs/index.ts';
import { requireAdmin, adminActor } from '../admin-auth.ts';
import { jsonTooDeep, tooDeepError } from '../json-body.ts';

const ResourcePath = Type.Object({ repository: Type.String(), type: Type.String(), tag: Type.String() });
const ResourceInfo = Type.Object({ path: Type.String(), size: Type.Integer(), updatedAt: Type.String() });
const PolicyKind = Type.Object({ kind: Type.String() });
const PolicyDoc = Type.Object({ kind: Type.String(), text: Type.String(), default: Type.Boolean() });
const AuditRecord = Type.Object({
  seq: Type.Integer(),
  time: Type.String(),
  kind: Type.String(),
  outcome: Type.String(),
  actor: Type.Optional(Type.String()),
  subject: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  details: Type.Optional(Type.Unknown()),
  prevHash: Type.String(),
  hash: Type.String(),
});
const AuditQuery = Type.Object({
  afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
  kind: Type.Optional(Type.String({ maxLength: 64 })),
  outcome: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('refused'), Type.Literal('error')])),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
const AuditCount = Type.Object({
  hour: Type.String(),
  source: Type.String(),
  kind: Type.String(),
  outcome: Type.String(),
  code: Type.String(),
  count: Type.Integer(),
  firstTime: Type.String(),
  lastTime: Type.String(),
  sample: Type.Optional(Type.String()),
});
const AuditCountQuery = Type.Object({
  kind: Type.Optional(Type.String({ maxLength: 64 })),
  outcome: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('refused'), Type.Literal('error')])),
  source: Type.Optional(Type.String({ maxLength: 64 })),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
const security = [{ bearer: [] }];
const errors = { '4xx': Problem };

/** Cloak's admin API under /api/v1 (bearer admin token). */
export async function adminRoutes(
  app: FastifyInstance,
  opts: { admin: Admin; authorize: (h: string | undefined) => string },
): Promise<void> {
  const { admin } = opts;
  requireAdmin(app, opts.authorize);

  app.get(
    '/api/v1/resources',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'List resources (names and sizes, never values)',
        response: { 200: Type.Array(ResourceInfo), ...errors },
      },
    },
    async () => admin.listResources(),
  );

  app.put(
    '/api/v1/resources/:repository/:type/:tag',
    {
      bodyLimit: 2 * 1024 * 1024,
      schema: {
        tags: ['admin'],
        security,
        summary: 'Set a resource (value as standard base64)',
        params: ResourcePath,
        body: Type.Object({ value: Type.String({ maxLength: 1_500_000 }) }),
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      const who = adminActor(req);
      const p = req.params as Record<string, string>;
      const value = fromBase64((req.body as { value: string }).value, 'ADMIN_VALUE_INVALID', 'value');
      await admin.setResource(who, `${p.repository}/${p.type}/${p.tag}`, value);
      reply.code(204).send();
    },
  );

  app.delete(
    '/api/v1/resources/:repository/:type/:tag',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'Delete a resource',
        params: ResourcePath,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      const p = req.params as Record<string, string>;
      await admin.deleteResource(adminActor(req), `${p.repository}/${p.type}/${p.tag}`);
      reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/policies/:kind',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'Get the attestation or resource policy',
        params: PolicyKind,
        response: { 200: PolicyDoc, ...errors },
      },
    },
    async (req) => admin.getPolicy((req.params as { kind: string }).kind),
  );

  app.put(
    '/api/v1/policies/:kind',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'Set a policy; refused (400) when it does not compile',
        params: PolicyKind,
        body: Type.Object({ text: Type.String({ maxLength: 256 * 1024 }) }),
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      await admin.setPolicy(
        adminActor(req),
        (req.params as { kind: string }).kind,
        (req.body as { text: string }).text,
      );
      reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/reference-values',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'List reference values',
        response: { 200: Type.Array(Type.Object({ name: Type.String(), value: Type.Unknown() })), ...errors },
      },
    },
    async () => admin.listReferenceValues(),
  );

  app.put(
    '/api/v1/reference-values/:name',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'Record reference values (image digests, measurements)',
        params: Type.Object({ name: Type.String() }),
        body: Type.Object({}, { additionalProperties: true }),
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      await admin.putReferenceValue(adminActor(req), (req.params as { name: string }).name, req.body);
      reply.code(204).send();
    },
  );

  app.delete(
    '/api/v1/reference-values/:name',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'Delete reference values',
        params: Type.Object({ name: Type.String() }),
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      await admin.deleteReferenceValue(adminActor(req), (req.params as { name: string }).name);
      reply.code(204).send();
    },
  );

  const ManifestDoc = Type.Object({
    version: Type.Integer(),
    digest: Type.String(),
    text: Type.String(),
    history: Type.Array(Type.Object({ version: Type.Integer(), digest: Type.String(), createdAt: Type.String() })),
  });
  app.get(
    '/api/v1/manifest',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'The manifest in force (or ?version=N) with the digests of its history',
        querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }),
        response: { 200: ManifestDoc, ...errors },
      },
    },
    async (req) => admin.getManifest((req.query as { version?: number }).version),
  );

  app.put(
    '/api/v1/manifest',
    {
      bodyLimit: 1024 * 1024,
      schema: {
        tags: ['admin'],
        security,
        summary: 'Apply a signed manifest update (version + 1, previous digest, N of M owner signatures)',
        body: Type.Object({
          manifest: Type.String({ maxLength: 512 * 1024 }),
          signatures: Type.Array(
            Type.Object({ user: Type.String({ maxLength: 64 }), signature: Type.String({ maxLength: 2048 }) }),
            { maxItems: 64 },
          ),
        }),
        response: {
          200: Type.Object({ version: Type.Integer(), digest: Type.String(), generated: Type.Array(Type.String()) }),
          ...errors,
        },
      },
    },
    async (req) => {
      const body = req.body as { manifest: string; signatures: Array<{ user: string; signature: string }> };
      return admin.setManifest(adminActor(req), body.manifest, body.signatures);
    },
  );

  app.get(
    '/api/v1/audit/head',
    {
      schema: {
        tags: ['admin'],
        security,
        summary:
          'The newest audit record as last written, with whether its MAC holds (detects records removed from the end)',
        response: {
          200: Type.Object({ seq: Type.Integer(), hash: Type.String(), authentic: Type.Boolean() }),
          ...errors,
        },
      },
    },
    async () => {
      return (await admin.auditHead()) ?? { seq: 0, hash: '0'.repeat(64), authentic: true };
    },
  );

  app.get(
    '/api/v1/audit',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'Query the audit log (ascending)',
        querystring: AuditQuery,
        response: { 200: Type.Array(AuditRecord), ...errors },
      },
    },
    async (req) => {
      const q = req.query as { afterSeq?: number; kind?: string; outcome?: string; since?: string; limit?: number };
      return admin.queryAudit({ ...q, since: q.since ? new Date(q.since) : undefined });
    },
  );

  app.get(
    '/api/v1/audit/counts',
    {
      schema: {
        tags: ['admin'],
        security,
        summary:
          'KBS refusals and challenges counted per hour, client address, kind and code (newest hour first; not in the hash chain)',
        querystring: AuditCountQuery,
        response: { 200: Type.Array(AuditCount), ...errors },
      },
    },
    async (req) => {
      const q = req.query as { kind?: string; outcome?: string; source?: string; since?: string; limit?: number };
      return admin.queryAuditCounts({ ...q, since: q.since ? new Date(q.since) : undefined });
    },
  );
}

/** CoCo's own admin endpoints, kept for kbs-client compatibility. */
export async function cocoAdminRoutes(
  app: FastifyInstance,
  opts: { admin: Admin; authorize: (h: string | undefined) => string },
): Promise<void> {
  const { admin } = opts;
  requireAdmin(app, opts.authorize);
  // The resource body is the raw secret, whatever its content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.post(
    '/kbs/v0/resource/:repository/:type/:tag',
    {
      schema: { tags: ['coco-admin'], security, params: ResourcePath },
    },
    async (req, reply) => {
      const who = adminActor(req);
      const p = req.params as Record<string, string>;
      await admin.setResource(
        who,
        `${p.repository}/${p.type}/${p.tag}`,
        Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      );
      reply.code(200).send();
    },
  );

  for (const kind of ['resource', 'attestation'] as const) {
    app.post(`/kbs/v0/${kind}-policy`, { schema: { tags: ['coco-admin'], security } }, async (req, reply) => {
      const who = adminActor(req);
      let doc: { policy?: unknown };
      const text = (req.body as Buffer).toString('utf8');
      if (jsonTooDeep(text)) throw tooDeepError();
      try {
        doc = JSON.parse(text);
      } catch {
        throw new CloakError(
          'ADMIN_BODY_INVALID',
          `body must be JSON {"policy": "<base64 of the ${kind} policy text>"}`,
        );
      }
      if (typeof doc?.policy !== 'string')
        throw new CloakError('ADMIN_BODY_INVALID', 'body needs "policy": base64 of the policy text');
      await admin.setPolicy(who, kind, fromBase64(doc.policy, 'ADMIN_BODY_INVALID', 'policy').toString('utf8'));
      reply.code(200).send();
    });
  }
}
