import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { CloakError, constantTimeEqual } from '../lib/index.ts';

/** Checks `Authorization: Bearer <admin token>` in constant time; returns the actor name for the audit log. */
export function makeAdminAuth(adminToken: string) {
  const expected = createHash('sha256').update(adminToken).digest();
  return (authorization: string | undefined): string => {
    const m = /^Bearer (\S+)$/i.exec(authorization ?? '');
    const given = createHash('sha256')
      .update(m?.[1] ?? '')
      .digest();
    if (!m || !constantTimeEqual(given, expected)) {
      throw new CloakError(
        'ADMIN_UNAUTHORIZED',
        'admin API needs "Authorization: Bearer <admin token>" (the token is in DATA/admin-token)',
      );
    }
    return 'admin';
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the admin token says made the request (set by `requireAdmin` before the body is read). */
    adminActor?: string;
  }
}

/**
 * Checks the admin token of every route of `app` on arrival (onRequest),
 * before the body is read or parsed: an anonymous client cannot make the
 * server take in a 2 MiB body.
 */
export function requireAdmin(app: FastifyInstance, authorize: (authorization: string | undefined) => string): void {
  app.decorateRequest('adminActor', undefined);
  app.addHook('onRequest', async (req) => {
    req.adminActor = authorize(req.headers.authorization);
  });
}

/** The actor `requireAdmin` authenticated. */
export function adminActor(req: FastifyRequest): string {
  if (!req.adminActor)
    throw new CloakError('ADMIN_UNAUTHORIZED', 'admin API needs "Authorization: Bearer <admin token>"');
  return req.adminActor;
}
