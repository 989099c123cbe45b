import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CloakError } from '../../lib/index.ts';
import {
  AttestReply,
  AttestRequest,
  AuthReply,
  AuthRequest,
  Problem,
  SESSION_COOKIE,
  type KeyBroker,
} from '../../kbs/index.ts';
import { readCookie } from '../cookies.ts';

const ResourceParams = Type.Object({ repository: Type.String(), type: Type.String(), tag: Type.String() });
const Jwe = Type.Object({
  protected: Type.String(),
  encrypted_key: Type.String(),
  iv: Type.String(),
  ciphertext: Type.String(),
  tag: Type.String(),
});

/** The CoCo KBS protocol 0.4.0: auth, attest, resource. */
export async function kbsRoutes(app: FastifyInstance, opts: { broker: KeyBroker }): Promise<void> {
  const { broker } = opts;

  app.post(
    '/kbs/v0/auth',
    {
      schema: { tags: ['kbs'], body: AuthRequest, response: { 200: AuthReply, '4xx': Problem } },
    },
    async (req, reply) => {
      const s = await broker.auth(req.body as AuthRequest, req.ip);
      reply.header(
        'set-cookie',
        `${SESSION_COOKIE}=${s.sessionId}; Expires=${s.expires.toUTCString()}; Path=/kbs; HttpOnly; SameSite=Strict`,
      );
      return { nonce: s.nonce, 'extra-params': '' };
    },
  );

  app.post(
    '/kbs/v0/attest',
    {
      bodyLimit: 1024 * 1024,
      schema: { tags: ['kbs'], body: AttestRequest, response: { 200: AttestReply, '4xx': Problem } },
    },
    async (req) => {
      const token = await broker.attest(
        readCookie(req.headers.cookie, SESSION_COOKIE),
        req.body as AttestRequest,
        req.ip,
      );
      return { token };
    },
  );

  app.get(
    '/kbs/v0/resource/:repository/:type/:tag',
    {
      exposeHeadRoute: false,
      schema: { tags: ['kbs'], params: ResourceParams, response: { 200: Jwe, '4xx': Problem } },
    },
    async (req) => {
      const { repository, type, tag } = req.params as { repository: string; type: string; tag: string };
      const m = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
      return broker.resource(
        { bearer: m?.[1], sessionId: readCookie(req.headers.cookie, SESSION_COOKIE) },
        `${repository}/${type}/${tag}`,
        req.ip,
      );
    },
  );

  // A release is a GET only: HEAD would run the release (and audit it) to send no body.
  app.head('/kbs/v0/resource/:repository/:type/:tag', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('allow', 'GET');
    throw new CloakError('REQUEST_METHOD_NOT_ALLOWED', 'resources are released to GET only');
  });
}
