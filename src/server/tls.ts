import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { certificateFingerprint, CloakError, x509 } from '../lib/index.ts';

/** What the server serves HTTPS with: PEM texts and where they came from. */
export interface TlsMaterial {
  cert: string;
  key: string;
  certFile: string;
  /** `sha256:<hex>` of the certificate (DER): what `cloak generate --server-fingerprint` checks. */
  fingerprint: string;
  created: boolean;
}

/** Loopback listen hosts: the only ones plain HTTP may listen on. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);

/** The names a self-signed certificate for this listen host covers: the host itself (unless a wildcard), this machine's name, loopback, and any extra. */
export function selfSignedNames(listenHost: string, extra: string[] = []): string[] {
  const names = [
    ...extra,
    ...(WILDCARD.has(listenHost) ? [hostname()] : [listenHost]),
    'localhost',
    '127.0.0.1',
    '::1',
  ];
  return [...new Set(names.filter(Boolean).map((n) => n.toLowerCase()))];
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * Creates a self-signed ECDSA P-256 server certificate for `names`. It is
 * not a CA (basicConstraints cA=false): rustls, which the CoCo guest's
 * attestation agent uses, refuses a CA certificate presented as the server's.
 */
export async function createSelfSignedCertificate(
  names: string[],
  opts: { now?: Date; years?: number } = {},
): Promise<{ cert: string; key: string }> {
  const notBefore = opts.now ?? new Date();
  const notAfter = new Date(notBefore.getTime() + (opts.years ?? 5) * 365 * 86400_000);
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01' + randomBytes(15).toString('hex'),
    name: `CN=${names[0] ?? 'localhost'}, O=Cloak self-signed`,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })),
      ),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
  return { cert: cert.toString('pem') + '\n', key };
}

/** Reads an operator's certificate and key, checking that they parse and belong together. */
export function readTlsFiles(certFile: string, keyFile: string): TlsMaterial {
  const read = (f: string, what: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      throw new CloakError('CONFIG_INVALID', `cannot read the TLS ${what} ${f}`);
    }
  };
  const cert = read(certFile, 'certificate');
  const key = read(keyFile, 'key');
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch {
    throw new CloakError('CONFIG_INVALID', `${certFile} is not a PEM certificate`);
  }
  let matches = false;
  try {
    matches = x.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new CloakError('CONFIG_INVALID', `${keyFile} is not a PEM private key`);
  }
  if (!matches)
    throw new CloakError('CONFIG_INVALID', `the key ${keyFile} does not belong to the certificate ${certFile}`);
  return { cert, key, certFile, fingerprint: certificateFingerprint(cert), created: false };
}

/**
 * The self-signed certificate in `dir` (server.crt, server.key), created on
 * first start and reused afterwards. The key is written 0600 in a 0700
 * directory, under a temporary name first, so no half-written key is left.
 */
export async function loadOrCreateSelfSigned(dir: string, names: string[]): Promise<TlsMaterial> {
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  if (existsSync(certFile) || existsSync(keyFile)) {
    if (!(existsSync(certFile) && existsSync(keyFile)))
      throw new CloakError(
        'CONFIG_INVALID',
        `${dir} holds only one of server.crt and server.key; delete it to create a new self-signed certificate`,
      );
    return readTlsFiles(certFile, keyFile);
  }
  const { cert, key } = await createSelfSignedCertificate(names);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmpKey = join(dirname(keyFile), `.server.key.${randomBytes(6).toString('hex')}`);
  try {
    writeFileSync(tmpKey, key, { mode: 0o600, flag: 'wx' });
    renameSync(tmpKey, keyFile);
  } finally {
    rmSync(tmpKey, { force: true });
  }
  writeFileSync(certFile, cert, { mode: 0o644 });
  return { cert, key, certFile, fingerprint: certificateFingerprint(cert), created: true };
}
