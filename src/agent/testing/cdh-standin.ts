import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseSealedSecret, verifySealedSecret } from '../../manifest/index.ts';

/*
 * A STAND-IN for the CoCo guest's confidential data hub behind api-server-rest,
 * for tests only, written from guest-components (HEAD 8246e5e):
 * - api-server-rest/src/router.rs: loopback callers only (403 "Forbidden"),
 *   `/cdh/resource/<path>` → GetResource("kbs://" + "/<path>") answered as
 *   application/octet-stream, any failure 500 with the error text, 404
 *   "URL NOT FOUND" otherwise, 404 "Resource Feature Not Enabled" without the
 *   resource feature;
 * - confidential-data-hub/hub/src/secret/mod.rs `unseal_secret`: a sealed secret's
 *   ES256 signature is checked with the JWK fetched at its `kid`, then a vault
 *   secret of provider `kbs` is fetched at its `name`.
 * The KBS behind it is whatever `getResource` reaches (a map, or a real Cloak
 * server through the agent's KBS client).
 */

export interface CdhStandIn {
  url: string;
  port: number;
  requests: string[];
  unseal(sealed: string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function startCdhStandIn(opts: {
  getResource: (uri: string) => Promise<Buffer>;
  resourceFeature?: boolean;
  port?: number;
}): Promise<CdhStandIn> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const answer = (status: number, body: string | Buffer, type?: string) => {
      res.writeHead(status, type ? { 'content-type': type } : {});
      res.end(body);
    };
    if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(req.socket.remoteAddress ?? ''))
      return answer(403, 'Forbidden');
    const m = /^\/cdh\/resource(\/.*)$/.exec(path);
    if (!m) return answer(404, 'URL NOT FOUND');
    if (opts.resourceFeature === false) return answer(404, 'Resource Feature Not Enabled');
    opts.getResource(`kbs://${m[1]}`).then(
      (value) => answer(200, value, 'application/octet-stream'),
      (e: Error) => answer(500, String(e.message)),
    );
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    async unseal(sealed) {
      const kid = parseSealedSecret(sealed).header.kid;
      const s = await verifySealedSecret(sealed, JSON.parse((await opts.getResource(kid)).toString('utf8')));
      if (s.payload.type !== 'vault' || s.payload.provider !== 'kbs')
        throw new Error(
          `the stand-in unseals vault secrets of provider kbs only, not ${s.payload.type}/${s.payload.provider}`,
        );
      return opts.getResource(s.payload.name);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
