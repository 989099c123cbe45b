import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { CloakError } from '../lib/index.ts';
import { toProblem, type Admin, type KeyBroker, type TokenIssuer } from '../kbs/index.ts';
import { Metrics } from './metrics.ts';
import { kbsRoutes } from './routes/kbs.ts';
import { adminRoutes, cocoAdminRoutes } from './routes/admin.ts';
import { publicRoutes } from './routes/public.ts';

export interface AppDeps {
  broker: KeyBroker;
  admin: Admin;
  tokens: TokenIssuer;
  authorize: (authorization: string | undefined) => string;
  ready: () => Promise<boolean>;
  logLevel?: string;
}

/** Composes the HTTP server: KBS routes, admin API, OpenAPI, discovery, health, metrics. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: deps.logLevel ?? 'info' },
    bodyLimit: 256 * 1024,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array' } },
  });
  const metrics = new Metrics();

  app.addHook('onResponse', async (req, reply) => {
    metrics.inc('cloak_http_requests_total', 'HTTP requests by route and status.', { route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });

  app.setErrorHandler((err, req, reply) => {
    const e = normalize(err);
    const problem = toProblem(e);
    if (problem.status >= 500) req.log.error({ err }, 'request failed');
    reply.code(problem.status).type('application/problem+json').send(problem);
  });
  app.setNotFoundHandler((req, reply) => {
    const problem = toProblem(new CloakError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, { status: 404 }));
    reply.code(404).type('application/problem+json').send(problem);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Cloak key broker and admin API', version: '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  await app.register(kbsRoutes, { broker: deps.broker });
  await app.register(cocoAdminRoutes, { admin: deps.admin, authorize: deps.authorize });
  await app.register(adminRoutes, { admin: deps.admin, authorize: deps.authorize });
  await app.register(publicRoutes, { tokens: deps.tokens, metrics, ready: deps.ready });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/** Fastify's own errors (validation, body size, JSON syntax) as CloakErrors with the right status. */
function normalize(err: unknown): unknown {
  if (err instanceof CloakError) return err;
  const e = err as { code?: string; statusCode?: number; message?: string; validation?: unknown };
  if (e.validation) return new CloakError('REQUEST_INVALID', `request does not match the schema: ${e.message}`, { status: 400 });
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new CloakError('REQUEST_TOO_LARGE', 'request body is larger than this endpoint accepts', { status: 413 });
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new CloakError('REQUEST_MEDIA_TYPE', 'send the body as application/json', { status: 415 });
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new CloakError('REQUEST_INVALID', e.message ?? 'bad request', { status: e.statusCode });
  return err;
}
