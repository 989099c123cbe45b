import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { CloakError } from '../lib/index.ts';
import { MANIFEST_ACCEPT, type RegistryAuth, type RegistryOptions, type RegistryRef } from './registry.ts';
import { chain, verifyingStream } from './layout.ts';

const MAX_MANIFEST = 4 * 1024 * 1024;
export const CHUNK_SIZE = 8 * 1024 * 1024;

/** Credentials for a registry from ~/.docker/config.json (`auths.<host>.auth` = base64 user:password). */
export function dockerConfigAuth(
  registry: string,
  file = join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json'),
): RegistryAuth | undefined {
  try {
    const auths = JSON.parse(readFileSync(file, 'utf8')).auths ?? {};
    const entry =
      auths[registry] ??
      auths[`https://${registry}`] ??
      (registry === 'registry-1.docker.io' ? auths['https://index.docker.io/v1/'] : undefined);
    if (!entry?.auth) return undefined;
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = text.indexOf(':');
    return i > 0 ? { username: text.slice(0, i), password: text.slice(i + 1) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A client of one repository on an OCI distribution (v2) registry:
 * anonymous, basic and bearer-token auth (the WWW-Authenticate challenge),
 * retries on transient errors, monolithic and chunked uploads, cross-repo mounts.
 */
export class RegistryClient {
  private token?: string;
  private readonly base: string;
  private readonly auth?: RegistryAuth;
  private readonly doFetch: typeof fetch;

  constructor(
    readonly ref: RegistryRef,
    private readonly opts: RegistryOptions = {},
  ) {
    this.base = `${opts.tlsVerify === false ? 'http' : 'https'}://${ref.registry}`;
    this.auth = opts.auth ?? dockerConfigAuth(ref.registry);
    this.doFetch = opts.fetch ?? fetch;
  }

  private url(path: string): string {
    return `${this.base}/v2/${this.ref.repository}/${path}`;
  }

  /** One request with auth negotiation and retries; `ok` lists the statuses that are not errors. */
  async request(
    method: string,
    url: string,
    init: { headers?: Record<string, string>; body?: Buffer | Readable; ok?: number[] } = {},
  ): Promise<Response> {
    const retries = this.opts.retries ?? 3;
    for (let attempt = 0, authTried = false; ; attempt++) {
      const headers: Record<string, string> = { ...init.headers };
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      else if (this.auth?.username && authTried)
        headers.authorization =
          'Basic ' + Buffer.from(`${this.auth.username}:${this.auth.password ?? ''}`).toString('base64');
      let res: Response;
      try {
        res = await this.doFetch(url, {
          method,
          headers,
          body: init.body as BodyInit | undefined,
          redirect: 'follow',
          ...(init.body instanceof Readable ? { duplex: 'half' } : {}),
        } as RequestInit);
      } catch (e) {
        if (attempt < retries && !(init.body instanceof Readable)) {
          await sleep(attempt);
          continue;
        }
        throw new CloakError(
          'OCI_REGISTRY_UNREACHABLE',
          `cannot reach ${this.ref.registry}: ${(e as Error).cause ?? (e as Error).message}${this.opts.tlsVerify === false ? '' : ' (for a plain-HTTP registry pass --tls-verify=false)'}`,
        );
      }
      if (res.status === 401 && !authTried) {
        authTried = true;
        await res.body?.cancel();
        await this.negotiate(res.headers.get('www-authenticate') ?? '');
        if (!(init.body instanceof Readable)) {
          attempt--;
          continue;
        }
      }
      if ((res.status >= 500 || res.status === 429) && attempt < retries && !(init.body instanceof Readable)) {
        await res.body?.cancel();
        await sleep(attempt);
        continue;
      }
      if (!(init.ok ?? [200]).includes(res.status)) {
        const text = (await res.text()).slice(0, 300);
        const code =
          res.status === 401 || res.status === 403
            ? 'OCI_REGISTRY_DENIED'
            : res.status === 404
              ? 'OCI_REGISTRY_NOT_FOUND'
              : 'OCI_REGISTRY_ERROR';
        throw new CloakError(code, `${method} ${url.replace(this.base, this.ref.registry)}: ${res.status} ${text}`);
      }
      return res;
    }
  }

  /** Answers a WWW-Authenticate challenge: Bearer (token service) or Basic (credentials next try). */
  private async negotiate(challenge: string): Promise<void> {
    const scheme = challenge.split(' ')[0]?.toLowerCase();
    if (scheme !== 'bearer') return;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!params.realm)
      throw new CloakError(
        'OCI_REGISTRY_AUTH',
        `registry ${this.ref.registry} sent a Bearer challenge without a realm`,
      );
    const q = new URLSearchParams();
    if (params.service) q.set('service', params.service);
    q.set('scope', params.scope ?? `repository:${this.ref.repository}:pull,push`);
    const headers: Record<string, string> = {};
    if (this.auth?.username)
      headers.authorization =
        'Basic ' + Buffer.from(`${this.auth.username}:${this.auth.password ?? ''}`).toString('base64');
    const res = await this.doFetch(`${params.realm}?${q}`, { headers });
    if (!res.ok) throw new CloakError('OCI_REGISTRY_DENIED', `token service ${params.realm} refused: ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    this.token = body.token ?? body.access_token;
    if (!this.token) throw new CloakError('OCI_REGISTRY_AUTH', 'token service answered without a token');
  }

  async getManifest(reference: string): Promise<{ body: Buffer; mediaType: string; digest: string }> {
    const res = await this.request('GET', this.url(`manifests/${reference}`), { headers: { accept: MANIFEST_ACCEPT } });
    const body = Buffer.from(await res.arrayBuffer());
    if (body.length > MAX_MANIFEST) throw new CloakError('OCI_BLOB_TOO_LARGE', 'manifest is larger than 4 MiB');
    const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
    if (reference.startsWith('sha256:') && reference !== digest)
      throw new CloakError('OCI_DIGEST_MISMATCH', `registry returned a manifest whose digest is not ${reference}`);
    let mediaType = res.headers.get('content-type')?.split(';')[0] ?? '';
    try {
      mediaType = JSON.parse(body.toString('utf8')).mediaType ?? mediaType;
    } catch {
      throw new CloakError('OCI_JSON_INVALID', 'registry returned a manifest that is not JSON');
    }
    return { body, mediaType, digest };
  }

  async getBlob(digest: string, size?: number): Promise<Readable> {
    const res = await this.request('GET', this.url(`blobs/${digest}`));
    if (!res.body) throw new CloakError('OCI_REGISTRY_ERROR', `blob ${digest} has no body`);
    return chain(Readable.fromWeb(res.body as never), verifyingStream(digest, size));
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.request('HEAD', this.url(`blobs/${digest}`), { ok: [200, 404] });
    return res.status === 200;
  }

  /** Uploads a blob unless the registry has it: cross-repo mount when `mountFrom` is given, else monolithic or chunked. */
  async pushBlob(
    digest: string,
    size: number,
    open: () => Readable,
    mountFrom?: string,
  ): Promise<'exists' | 'mounted' | 'uploaded'> {
    if (await this.hasBlob(digest)) return 'exists';
    const start = await this.request(
      'POST',
      this.url(
        `blobs/uploads/${mountFrom && mountFrom !== this.ref.repository ? `?mount=${digest}&from=${encodeURIComponent(mountFrom)}` : ''}`,
      ),
      { ok: [201, 202] },
    );
    await start.body?.cancel();
    if (start.status === 201) return 'mounted';
    let location = this.absolute(start.headers.get('location'));
    if (size <= CHUNK_SIZE) {
      const body = await collect(open());
      const put = await this.request('PUT', withQuery(location, `digest=${digest}`), {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
        body,
        ok: [201],
      });
      await put.body?.cancel();
      return 'uploaded';
    }
    let offset = 0;
    for await (const chunk of chunks(open(), CHUNK_SIZE)) {
      const res = await this.request('PATCH', location, {
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${offset}-${offset + chunk.length - 1}`,
          'content-length': String(chunk.length),
        },
        body: chunk,
        ok: [202],
      });
      await res.body?.cancel();
      location = this.absolute(res.headers.get('location'));
      offset += chunk.length;
    }
    const done = await this.request('PUT', withQuery(location, `digest=${digest}`), {
      headers: { 'content-length': '0' },
      ok: [201],
    });
    await done.body?.cancel();
    return 'uploaded';
  }

  async putManifest(reference: string, body: Buffer, mediaType: string): Promise<string> {
    const res = await this.request('PUT', this.url(`manifests/${reference}`), {
      headers: { 'content-type': mediaType },
      body,
      ok: [201],
    });
    await res.body?.cancel();
    return res.headers.get('docker-content-digest') ?? 'sha256:' + createHash('sha256').update(body).digest('hex');
  }

  private absolute(location: string | null): string {
    if (!location) throw new CloakError('OCI_REGISTRY_ERROR', 'registry upload answer has no Location');
    return new URL(location, this.base).toString();
  }
}

const sleep = (attempt: number) => new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
const withQuery = (url: string, q: string) => url + (url.includes('?') ? '&' : '?') + q;

async function collect(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function* chunks(s: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let n = 0;
  for await (const c of s) {
    pending.push(c as Buffer);
    n += (c as Buffer).length;
    while (n >= size) {
      const all = Buffer.concat(pending);
      yield all.subarray(0, size);
      pending = [all.subarray(size)];
      n = pending[0]!.length;
    }
  }
  if (n > 0) yield Buffer.concat(pending);
}
