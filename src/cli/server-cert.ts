import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { certificateFingerprint, CloakError } from '../lib/index.ts';

const FINGERPRINT = /^sha256:[0-9a-f]{64}$/;

/**
 * The server certificate `cloak generate` pins into the init-data: read from
 * a file, or fetched from the https server and accepted only when its
 * fingerprint is the one given (an unpinned fetch would trust whoever
 * answers). The certificate must name the server's host, or the guest's TLS
 * client would refuse it. Plain-HTTP servers pin nothing.
 */
export async function pinnedServerCert(
  server: string | undefined,
  opts: { certFile?: string; fingerprint?: string; timeoutMs?: number },
): Promise<string | undefined> {
  const fingerprint = opts.fingerprint?.toLowerCase();
  if (fingerprint !== undefined && !FINGERPRINT.test(fingerprint))
    throw new CloakError(
      'USAGE_FINGERPRINT',
      `--server-fingerprint must be sha256:<64 hex>, as cloak serve prints it; got "${opts.fingerprint}"`,
    );
  if (!server?.startsWith('https://')) {
    if (opts.certFile || fingerprint)
      throw new CloakError(
        'USAGE_SERVER_CERT',
        `--server-cert and --server-fingerprint pin an https:// server; --server is ${server ?? 'not given'}`,
      );
    return undefined;
  }
  const url = new URL(server);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let pem: string;
  if (opts.certFile) {
    try {
      pem = readFileSync(opts.certFile, 'utf8');
    } catch {
      throw new CloakError('USAGE_SERVER_CERT', `cannot read --server-cert ${opts.certFile}`);
    }
    pem = firstPem(pem, opts.certFile);
  } else if (fingerprint) {
    pem = await fetchServerCert(host, Number(url.port || 443), opts.timeoutMs ?? 10_000);
  } else {
    throw new CloakError(
      'USAGE_SERVER_CERT',
      `pin the certificate of ${server}: --server-fingerprint sha256:… (cloak serve prints it at start; the certificate is then fetched and checked) or --server-cert FILE`,
    );
  }
  const actual = certificateFingerprint(pem);
  if (fingerprint && actual !== fingerprint) {
    throw new CloakError(
      'SERVER_CERT_MISMATCH',
      `${server} presents certificate ${actual}, not the pinned ${fingerprint}: refusing to pin it (someone else may be answering, or the server has a new certificate)`,
    );
  }
  const cert = new X509Certificate(pem);
  const named = isIP(host) ? cert.checkIP(host) : cert.checkHost(host);
  if (!cert.ca && !named)
    throw new CloakError(
      'SERVER_CERT_NAME',
      `the certificate ${actual} does not name ${host} (${cert.subjectAltName ?? cert.subject}); the guest would refuse it: create it for that name (cloak serve --tls-name ${host}) or use the name it has`,
    );
  if (!opts.certFile && cert.issuer !== cert.subject) {
    throw new CloakError(
      'SERVER_CERT_ISSUED',
      `${server} presents a certificate issued by ${cert.issuer.replace(/\n/g, ', ')}; the guest trusts the certificate it is given as a root: give that CA's certificate with --server-cert`,
    );
  }
  return pem;
}

function firstPem(text: string, where: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text);
  if (!m) throw new CloakError('USAGE_SERVER_CERT', `${where} holds no PEM certificate`);
  try {
    return new X509Certificate(m[0]).toString();
  } catch {
    throw new CloakError('USAGE_SERVER_CERT', `${where} holds no valid certificate`);
  }
}

/** The certificate a TLS server presents, unverified: the caller checks it against a pinned fingerprint. */
function fetchServerCert(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host, port, servername: isIP(host) ? undefined : host, rejectUnauthorized: false, timeout: timeoutMs },
      () => {
        const cert = socket.getPeerX509Certificate();
        socket.end();
        if (!cert) reject(new CloakError('SERVER_CERT_FETCH', `${host}:${port} presented no certificate`));
        else resolve(cert.toString());
      },
    );
    socket.on('timeout', () => {
      socket.destroy();
      reject(
        new CloakError('SERVER_CERT_FETCH', `${host}:${port} did not complete a TLS handshake within ${timeoutMs} ms`),
      );
    });
    socket.on('error', (e) =>
      reject(new CloakError('SERVER_CERT_FETCH', `cannot fetch the certificate of ${host}:${port}: ${e.message}`)),
    );
  });
}
