import { webcrypto, createPrivateKey, randomBytes } from 'node:crypto';
import { x509 } from '../../lib/index.ts';

const ALG = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } as const;

export interface SimHardware {
  /** The simulated vendor root (PEM): the server is told to trust it. */
  rootCertPem: string;
  /** The simulated device certificate (PEM), issued by the root. */
  deviceCertPem: string;
  /** The device's signing key (PKCS#8 PEM): lives "in the hardware". */
  deviceKeyPem: string;
}

/** Creates a simulated vendor root and one device key certified by it. */
export async function createSimHardware(opts: { now?: Date; years?: number } = {}): Promise<SimHardware> {
  const notBefore = opts.now ?? new Date();
  const notAfter = new Date(notBefore.getTime() + (opts.years ?? 10) * 365 * 86400_000);
  const rootKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: 'CN=Cloak simulated TEE root (INSECURE)',
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    keys: rootKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const deviceKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const device = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    subject: 'CN=Cloak simulated TEE device (INSECURE)',
    issuer: root.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    publicKey: deviceKeys.publicKey,
    signingKey: rootKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', deviceKeys.privateKey));
  const deviceKeyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
  return { rootCertPem: root.toString('pem'), deviceCertPem: device.toString('pem'), deviceKeyPem };
}
