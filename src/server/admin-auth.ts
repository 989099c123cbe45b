import { createHash } from 'node:crypto';
import { CloakError, constantTimeEqual } from '../lib/index.ts';

/** Checks `Authorization: Bearer <admin token>` in constant time; returns the actor name for the audit log. */
export function makeAdminAuth(adminToken: string) {
  const expected = createHash('sha256').update(adminToken).digest();
  return (authorization: string | undefined): string => {
    const m = /^Bearer (\S+)$/i.exec(authorization ?? '');
    const given = createHash('sha256').update(m?.[1] ?? '').digest();
    if (!m || !constantTimeEqual(given, expected)) {
      throw new CloakError('ADMIN_UNAUTHORIZED', 'admin API needs "Authorization: Bearer <admin token>" (the token is in DATA/admin-token)', { status: 401 });
    }
    return 'admin';
  };
}
