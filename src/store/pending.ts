// Placeholder until the store branch lands (replaced at merge).
import { CloakError } from '../lib/index.ts';
import type { Store, AuditRecord } from './types.ts';
export async function openStore(_url: string, _opts: { sealingKey: Buffer; dataDir?: string }): Promise<Store> { throw new CloakError('STORE_PENDING', 'store not merged yet'); }
export function loadOrCreateSealingKey(_path: string): Buffer { throw new CloakError('STORE_PENDING', 'store not merged yet'); }
export function verifyAuditChain(_r: AuditRecord[]): { ok: true } | { ok: false; seq: number; reason: string } { throw new CloakError('STORE_PENDING', 'store not merged yet'); }
