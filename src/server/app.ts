import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { CloakError } from '../lib/index.ts';
import { toProblem, type Admin, type KeyBroker, type TokenIssuer } from '../kbs/index.ts';
import { Metrics } from './metrics.ts';
import { httpStatus, kindOfStatus } from './http-status.ts';
import { kbsRoutes } from './routes/kbs.ts';
import { adminRoutes, cocoAdminRoutes } from './routes/admin.ts';
import { publicRoutes } from './routes/public.ts';
import { useDepthLimitedJson } from './json-body.ts';

export interface AppDeps {
  broker: KeyBroker;
  admin: Admin;
  tokens: TokenIssuer;
  authorize: (authorization: string | undefined) => string;
  ready: () => Promise<boolean>;
  logLevel?: string;
  /** PEM certificate (chain) and key: serve HTTPS. */
  https?: { cert: string; key: string };
}

/** Composes the HTTP server: KBS routes, admin API, OpenAPI, discovery, health, metrics. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.https ? { https: { cert: deps.https.cert, key: deps.https.key, minVersion: 'TLSv1.2' as const } } : {}),
    logger: { level: deps.logLevel ?? 'info', serializers: { req: requestForLog } },
    bodyLimit: 256 * 1024,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    return503OnClosing: true,
    // The longest path parameter a route takes (a reference value name); longer ones get a 414 problem.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // JSON bodies are taken as sent (no ["sim"] for "sim", no 5 for "5"); only URL parts are converted, in preValidation.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    frameworkErrors: (err, _req, reply) => sendProblem(reply, frameworkError(err)),
  });
  const metrics = new Metrics();
  useDepthLimitedJson(app);
  app.addHook('preValidation', async (req) => {
    const schema = req.routeOptions.schema;
    if (schema?.querystring) req.query = Value.Convert(schema.querystring as TSchema, req.query);
  });

  app.addHook('onResponse', async (req, reply) => {
    metrics.inc('cloak_http_requests_total', 'HTTP requests by route and status.', {
      route: req.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    });
  });

  app.setErrorHandler((err, req, reply) => {
    const e = normalize(err);
    if (httpStatus(e) >= 500) req.log.error({ err }, 'request failed');
    sendProblem(reply, e);
  });
  app.setNotFoundHandler((req, reply) => {
    sendProblem(reply, new CloakError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
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

const MAX_PARAM_LENGTH = 256;

function sendProblem(reply: FastifyReply, e: unknown): void {
  const problem = toProblem(e, httpStatus(e));
  reply.code(problem.status).type('application/problem+json').send(problem);
}

/** Errors the router raises before any route runs (the message would echo the path). */
function frameworkError(err: { code?: string }): CloakError {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH')
    return new CloakError('REQUEST_PATH_TOO_LONG', `a path segment is longer than ${MAX_PARAM_LENGTH} characters`);
  if (err.code === 'FST_ERR_BAD_URL')
    return new CloakError('REQUEST_URL_INVALID', 'the URL is not valid percent-encoding');
  return new CloakError('REQUEST_INVALID', 'the request could not be routed');
}

/**
 * The request as logged: the query string is dropped (a client may put a
 * token there; it is refused, but must not land in the log).
 */
function requestForLog(req: FastifyRequest) {
  const q = req.url.indexOf('?');
  return {
    method: req.method,
    url: q < 0 ? req.url : `${req.url.slice(0, q)}?[redacted]`,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** Fastify's own errors (validation, body size, JSON syntax) as CloakErrors with the right status. */
function normalize(err: unknown): unknown {
  if (err instanceof CloakError) return err;
  const e = err as { code?: string; statusCode?: number; message?: string; validation?: unknown };
  if (e.validation) return new CloakError('REQUEST_INVALID', `request does not match the schema: ${e.message}`);
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new CloakError('REQUEST_TOO_LARGE', 'request body is larger than this endpoint accepts');
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new CloakError('REQUEST_MEDIA_TYPE', 'send the body as application/json');
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)
    return new CloakError('REQUEST_INVALID', e.message ?? 'bad request', { kind: kindOfStatus(e.statusCode) });
  return err;
}
