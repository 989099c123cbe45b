import { createVerify } from 'node:crypto';
import { CloakError, fromBase64, x509, type ErrorCode } from '../../lib/index.ts';
import { fitDigest } from '../binding.ts';
import type { CommonClaims } from '../claims.ts';
import type { EvidenceVerifier, VerifiedEvidence, VerifyContext } from '../types.ts';
import { parseSimReport } from './report.ts';
import { BoundedCache } from '../cache.ts';


/** Trust settings read from `ctx.trust.sim`. */
export interface SimTrust {
  /** PEM certificates of simulated roots (`cloak sim init` makes one). */
  roots: string[];
}

const fail = (code: ErrorCode, message: string): never => { throw new CloakError(code, message); };

function parseEvidence(evidence: unknown): { report: Buffer; signature: Buffer; chain: string[] } {
  if (!evidence || typeof evidence !== 'object' || Array.isArray(evidence)) fail('SIM_EVIDENCE_MALFORMED', 'sim evidence must be a JSON object {report, signature, cert_chain}');
  const e = evidence as Record<string, unknown>;
  if (typeof e.report !== 'string' || typeof e.signature !== 'string') fail('SIM_EVIDENCE_MALFORMED', 'sim evidence needs base64 "report" and "signature"');
  if (!Array.isArray(e.cert_chain) || e.cert_chain.length < 1 || e.cert_chain.length > 4 || !e.cert_chain.every((c) => typeof c === 'string' && c.length < 16384)) {
    fail('SIM_EVIDENCE_MALFORMED', 'sim evidence needs "cert_chain": 1 to 4 PEM certificates');
  }
  return {
    report: fromBase64(e.report as string, 'SIM_EVIDENCE_MALFORMED', 'sim report'),
    signature: fromBase64(e.signature as string, 'SIM_EVIDENCE_MALFORMED', 'sim signature'),
    chain: e.cert_chain as string[],
  };
}

function readCert(pem: string, code: ErrorCode): x509.X509Certificate {
  try {
    return new x509.X509Certificate(pem);
  } catch (e) {
    throw new CloakError(code, 'a sim certificate is not a valid X.509 PEM', { cause: e });
  }
}

/** Device certificates already checked against a root: the chain check is the costly part and repeats per handshake. */
const verifiedDevices = new BoundedCache<x509.X509Certificate>(1000);

async function verifyChain(chain: string[], trust: SimTrust | undefined, now: Date): Promise<x509.X509Certificate> {
  const cacheKey = `${trust?.roots.join('\n')}\n${chain[0]}`;
  const cached = verifiedDevices.get(cacheKey);
  if (cached && now >= cached.notBefore && now <= cached.notAfter) return cached;
  const device = await verifyChainUncached(chain, trust, now);
  return verifiedDevices.set(cacheKey, device);
}

async function verifyChainUncached(chain: string[], trust: SimTrust | undefined, now: Date): Promise<x509.X509Certificate> {
  if (!trust || trust.roots.length === 0) fail('SIM_NOT_TRUSTED', 'no simulated TEE root is trusted: start the server with --sim-root ROOT.pem (from `cloak sim init`)');
  const device = readCert(chain[0]!, 'SIM_CERT_MALFORMED');
  const roots = trust!.roots.map((p) => readCert(p, 'SIM_ROOT_MALFORMED'));
  if (now < device.notBefore || now > device.notAfter) fail('SIM_CERT_EXPIRED', `the sim device certificate is not valid at ${now.toISOString()}`);
  for (const root of roots) {
    if (root.subject !== device.issuer) continue;
    if (now < root.notBefore || now > root.notAfter) fail('SIM_CERT_EXPIRED', `the sim root is not valid at ${now.toISOString()}`);
    if (await device.verify({ publicKey: root.publicKey, signatureOnly: true })) return device;
  }
  return fail('SIM_CHAIN_INVALID', 'the sim device certificate was not issued by a trusted sim root');
}

export const simVerifier: EvidenceVerifier = {
  tee: 'sim',
  async verify(evidence: unknown, ctx: VerifyContext): Promise<VerifiedEvidence> {
    const { report, signature, chain } = parseEvidence(evidence);
    const parsed = parseSimReport(report);
    const device = await verifyChain(chain, ctx.trust?.sim as SimTrust | undefined, ctx.now);
    const publicKey = Buffer.from(device.publicKey.rawData);
    const ok = createVerify('sha384').update(report).verify({ key: publicKey, format: 'der', type: 'spki' }, signature);
    if (!ok) fail('SIM_SIGNATURE_INVALID', 'the sim report signature does not verify with the device key');
    return {
      tee: 'sim',
      insecure: true,
      reportData: parsed.reportData,
      initData: parsed.hostData,
      claims: {
        version: parsed.version,
        debug: parsed.debug,
        tcb: Number(parsed.tcb),
        measurement: parsed.measurement.toString('hex'),
        host_data: parsed.hostData.toString('hex'),
        init_data: parsed.hostData.toString('hex'),
        report_data: parsed.reportData.toString('hex'),
      } satisfies CommonClaims & Record<string, unknown>,
    };
  },
  expectedReportData: (digest) => fitDigest(digest, 64),
  expectedInitData: (digest) => fitDigest(digest, 32),
};
