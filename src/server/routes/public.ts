import type { FastifyInstance } from 'fastify';
import type { TokenIssuer } from '../../kbs/index.ts';
import type { Metrics } from '../metrics.ts';
import { publicBaseUrl } from '../url.ts';

/** Unauthenticated endpoints: token keys, discovery, health, metrics. */
export async function publicRoutes(
  app: FastifyInstance,
  opts: { tokens: TokenIssuer; metrics: Metrics; ready: () => Promise<boolean> },
): Promise<void> {
  const { tokens, metrics } = opts;
  app.get('/.well-known/jwks.json', { schema: { tags: ['tokens'] } }, async () => tokens.jwks());
  app.get('/.well-known/openid-configuration', { schema: { tags: ['tokens'] } }, async () => ({
    issuer: tokens.issuer,
    jwks_uri: `${publicBaseUrl(tokens.issuer, app.server) ?? ''}/.well-known/jwks.json`,
    id_token_signing_alg_values_supported: ['ES256'],
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
    claims_supported: ['eat_profile', 'ear.verifier-id', 'submods', 'iat', 'exp', 'iss', 'jti'],
  }));
  app.get('/healthz', { schema: { tags: ['health'] } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['health'] } }, async (_req, reply) => {
    const ok = await opts.ready().catch(() => false);
    reply.code(ok ? 200 : 503);
    return { status: ok ? 'ready' : 'not ready' };
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type('text/plain; version=0.0.4');
    return metrics.render();
  });
}
