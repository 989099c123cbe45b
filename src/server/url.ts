import type { Server } from 'node:http';
import { Server as TlsServer } from 'node:tls';

/** The URL of the socket the server listens on (undefined before it listens); https when it serves TLS. */
export function listeningUrl(server: Server): string | undefined {
  const a = server.address();
  if (!a || typeof a !== 'object') return undefined;
  const scheme = (server as unknown) instanceof TlsServer ? 'https' : 'http';
  return `${scheme}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

/**
 * Where the server's own documents live, as clients are told (discovery's
 * `jwks_uri`): the issuer when it is an http(s) URL, else the listening
 * address. Never the request's Host header, which any client sets.
 */
export function publicBaseUrl(issuer: string, server: Server): string | undefined {
  if (/^https?:\/\/[^\s/?#]+/i.test(issuer)) return issuer.replace(/\/+$/, '');
  return listeningUrl(server);
}
