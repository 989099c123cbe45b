import { CloakError, type ErrorCode } from '../lib/errors.ts';

export interface ClientOptions {
  server?: string;
  token?: string;
}

/** Server URL and admin token from flags, then CLOAK_SERVER / CLOAK_TOKEN. */
export function clientFrom(opts: ClientOptions): AdminClient {
  const server = opts.server ?? process.env.CLOAK_SERVER;
  const token = opts.token ?? process.env.CLOAK_TOKEN;
  if (!server) throw new CloakError('USAGE_NO_SERVER', 'say which server: --server URL or CLOAK_SERVER');
  if (!token)
    throw new CloakError(
      'USAGE_NO_TOKEN',
      'give the admin token: --token T or CLOAK_TOKEN (the server wrote it to DATA/admin-token)',
    );
  return new AdminClient(server.replace(/\/+$/, ''), token);
}

/** A small client of the /api/v1 admin API. */
export class AdminClient {
  constructor(
    readonly server: string,
    private readonly token: string,
  ) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.server + path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new CloakError(
        'CLIENT_UNREACHABLE',
        `cannot reach ${this.server}: ${(e as Error).cause ?? (e as Error).message}`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let detail = text;
      let code = `HTTP_${res.status}`;
      try {
        const p = JSON.parse(text);
        detail = p.detail ?? text;
        code = p.code ?? code;
      } catch {
        /* not JSON */
      }
      // The server's own code (or its HTTP status), passed on as the server sent it.
      throw new CloakError(code as ErrorCode, `${method} ${path}: ${res.status} ${detail}`, {
        details: { status: res.status },
      });
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
