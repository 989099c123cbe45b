import { CloakError, isCloakError, type ErrorCode } from '../lib/index.ts';

/** Turns a SQLite or PostgreSQL driver error into a CloakError with a stable STORE_* code. */
export function storeError(e: unknown, what: string): CloakError {
  if (isCloakError(e)) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message : String(e);
  const make = (c: ErrorCode, text: string) => new CloakError(c, `${what}: ${text}`, { cause: e });
  if (code.startsWith('SQLITE_CONSTRAINT') || code === '23505') return make('STORE_CONFLICT', 'it already exists');
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === '40001' || code === '40P01' || code === '55P03')
    return make('STORE_BUSY', `the database is busy, retry (${message})`);
  if (/not open|after calling end|Client was closed/i.test(message)) return make('STORE_CLOSED', 'the store is closed');
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT') || code === 'XX001' || code === 'XX002')
    return make('STORE_CORRUPT', `the database is not readable (${message})`);
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_READONLY' || code === '53100')
    return make('STORE_IO_FAILED', `the database cannot write (${message})`);
  if (
    /^(08|57P|53)/.test(code) ||
    /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NOTFOUND)$/.test(code) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(message)
  ) {
    return make('STORE_UNAVAILABLE', `the database is unreachable (${message})`);
  }
  return make('STORE_QUERY_FAILED', message);
}
