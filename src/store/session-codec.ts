import { CloakError } from '../lib/index.ts';
import type { SessionRecord } from './types.ts';
import { seal, unseal } from './sealing.ts';

/** Sessions are stored as sealed JSON (AAD `session:<id>`), with the expiry beside them in clear for sweeping. */
export function sealSession(key: Buffer, s: SessionRecord): { sealed: Buffer; expiresAt: number } {
  checkSession(s);
  return { sealed: seal(key, `session:${s.id}`, Buffer.from(JSON.stringify(s))), expiresAt: s.expiresAt.getTime() };
}

export function unsealSession(key: Buffer, id: string, sealed: Buffer): SessionRecord {
  const s = JSON.parse(unseal(key, `session:${id}`, sealed).toString('utf8'));
  return { ...s, id, createdAt: new Date(s.createdAt), expiresAt: new Date(s.expiresAt) };
}

export function patchSession(current: SessionRecord, patch: Partial<Omit<SessionRecord, 'id'>>): SessionRecord {
  return { ...current, ...patch, id: current.id };
}

function checkSession(s: SessionRecord): void {
  const validDate = (d: unknown) => d instanceof Date && Number.isFinite(d.getTime());
  if (typeof s?.id !== 'string' || !s.id || !validDate(s.createdAt) || !validDate(s.expiresAt)) {
    throw new CloakError('STORE_SESSION_INVALID', 'a session needs an id and valid createdAt/expiresAt dates');
  }
}
