import { CloakError, isResourcePath } from '../lib/index.ts';
import { CDH_TIMEOUT_MS, DEFAULT_CDH_URL } from '../manifest/index.ts';

export { CDH_TIMEOUT_MS, DEFAULT_CDH_URL };

/*
 * The guest's confidential data hub as a container reaches it: api-server-rest
 * on 127.0.0.1:8006 (guest-components api-server-rest/src/main.rs
 * DEFAULT_BIND, router.rs, client/cdh.rs). `GET /cdh/resource/<repo>/<type>/<tag>`
 * becomes CDH GetResource("kbs:///<repo>/<type>/<tag>"): the CDH attests to the
 * KBS in the pod's init-data and answers the plaintext as
 * application/octet-stream. Any failure behind it (attestation, the KBS's
 * refusal, a missing resource) is a 500 whose body is the error text; 404
 * "Resource Feature Not Enabled" when the guest runs it without the resource
 * feature; 403 to callers not on loopback.
 */

/** Per resource; the secrets volume is a 16 MiB memory emptyDir. */
export const CDH_MAX_RESOURCE_BYTES = 4 * 1024 * 1024;

export interface CdhClientOptions {
  url?: string;
  timeoutMs?: number;
  maxBytes?: number;
  /** Connection attempts while api-server-rest is not listening yet. */
  retries?: number;
  fetch?: typeof fetch;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The data hub's base URL: http on loopback only, since the plaintext crosses it. */
export function cdhBaseUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CloakError(
      'USAGE_CDH_URL',
      `--cdh ${url.slice(0, 200)} is not a URL (the guest's data hub is ${DEFAULT_CDH_URL})`,
    );
  }
  if (u.protocol !== 'http:' || !LOOPBACK.has(u.hostname) || u.pathname !== '/' || u.search || u.username) {
    throw new CloakError(
      'USAGE_CDH_URL',
      `--cdh ${url.slice(0, 200)} must be http://<loopback>:<port>: the data hub answers plaintext, which must not leave the pod VM (the guest's is ${DEFAULT_CDH_URL})`,
    );
  }
  return u.origin;
}

/** What a failed fetch says underneath undici's "fetch failed". */
const why = (e: unknown): string => {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads a body up to `max` bytes, or refuses it without reading further. */
async function boundedBody(res: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooLarge = () =>
    new CloakError('AGENT_CDH_TOO_LARGE', `the data hub's answer for ${what} is larger than ${max} bytes`);
  if (declared > max) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > max) throw tooLarge();
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks, size);
}

/** A short, printable excerpt of an error body (the CDH's error text, or whatever else answered). */
const excerpt = (b: Buffer) =>
  b
    .subarray(0, 300)
    .toString('utf8')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim();

/** Fetches one resource (`repo/type/tag`) from the guest's data hub. */
export async function cdhResource(path: string, opts: CdhClientOptions = {}): Promise<Buffer> {
  if (!isResourcePath(path))
    throw new CloakError('AGENT_RESOURCE_PATH', `"${String(path).slice(0, 200)}" is not a resource path repo/type/tag`);
  const base = cdhBaseUrl(opts.url ?? DEFAULT_CDH_URL);
  const timeoutMs = opts.timeoutMs ?? CDH_TIMEOUT_MS;
  const retries = opts.retries ?? 3;
  const doFetch = opts.fetch ?? fetch;
  for (let attempt = 0; ; attempt++) {
    const signal = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await doFetch(`${base}/cdh/resource/${path}`, { signal, redirect: 'error' });
    } catch (e) {
      if (signal.aborted)
        throw new CloakError(
          'AGENT_CDH_TIMEOUT',
          `the data hub at ${base} did not answer for ${path} within ${timeoutMs / 1000} s`,
        );
      if (attempt < retries) {
        await sleep(250 * 2 ** attempt);
        continue;
      }
      throw new CloakError(
        'AGENT_CDH_UNREACHABLE',
        `cannot reach the guest's data hub at ${base} (${why(e)}): is this a Confidential Containers pod? Its api-server-rest listens on ${DEFAULT_CDH_URL}`,
      );
    }
    let body: Buffer;
    try {
      body = await boundedBody(res, opts.maxBytes ?? CDH_MAX_RESOURCE_BYTES, path);
    } catch (e) {
      if (signal.aborted)
        throw new CloakError(
          'AGENT_CDH_TIMEOUT',
          `the data hub at ${base} did not finish sending ${path} within ${timeoutMs / 1000} s`,
        );
      throw e;
    }
    if (res.status === 200) return body;
    const said = excerpt(body);
    if (res.status === 500)
      throw new CloakError(
        'AGENT_CDH_RESOURCE_FAILED',
        `the data hub could not get ${path} from the KBS: ${said || '(no reason given)'}`,
      );
    if (res.status === 404 && /feature not enabled/i.test(said))
      throw new CloakError(
        'AGENT_CDH_FEATURE_DISABLED',
        `the guest's api-server-rest does not serve resources (${said}); the guest must run it with the resource feature, its default`,
      );
    if (res.status === 403)
      throw new CloakError(
        'AGENT_CDH_FORBIDDEN',
        `the data hub at ${base} refused this caller (403 ${said}); it answers loopback callers only`,
      );
    throw new CloakError(
      'AGENT_CDH_PROTOCOL',
      `${base} answered ${res.status} for /cdh/resource/${path} (${said}); is it the guest's api-server-rest?`,
    );
  }
}
