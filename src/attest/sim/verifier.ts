import { createVerify, X509Certificate } from 'node:crypto';
import { CloakError, fromBase64, type ErrorCode } from '../../lib/index.ts';
import { fitDigest } from '../binding.ts';
import type { CommonClaims } from '../claims.ts';
import type { EvidenceVerifier, SimTrust, VerifiedEvidence, VerifyContext } from '../types.ts';
import { parseSimReport } from './report.ts';
import { walkChain } from '../pki/chain.ts';
import { cached, cacheSlot, derived, type VerifyCache } from '../cache.ts';

export type { SimTrust };

const fail = (code: ErrorCode, message: string): never => {
  throw new CloakError(code, message);
};

function parseEvidence(evidence: unknown): { report: Buffer; signature: Buffer; chain: string[] } {
  if (!evidence || typeof evidence !== 'object' || Array.isArray(evidence))
    fail('SIM_EVIDENCE_MALFORMED', 'sim evidence must be a JSON object {report, signature, cert_chain}');
  const e = evidence as Record<string, unknown>;
  if (typeof e.report !== 'string' || typeof e.signature !== 'string')
    fail('SIM_EVIDENCE_MALFORMED', 'sim evidence needs base64 "report" and "signature"');
  if (
    !Array.isArray(e.cert_chain) ||
    e.cert_chain.length < 1 ||
    e.cert_chain.length > 4 ||
    !e.cert_chain.every((c) => typeof c === 'string' && c.length < 16384)
  ) {
    fail('SIM_EVIDENCE_MALFORMED', 'sim evidence needs "cert_chain": 1 to 4 PEM certificates');
  }
  return {
    report: fromBase64(e.report as string, 'SIM_EVIDENCE_MALFORMED', 'sim report'),
    signature: fromBase64(e.signature as string, 'SIM_EVIDENCE_MALFORMED', 'sim signature'),
    chain: e.cert_chain as string[],
  };
}

function readCert(pem: string, code: ErrorCode): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw new CloakError(code, 'a sim certificate is not a valid X.509 PEM', { cause: e });
  }
}

const SIM_CHAIN = {
  what: 'the sim device certificate',
  names: ['sim device certificate', 'sim root'],
  invalid: 'SIM_CHAIN_INVALID',
  expired: 'SIM_CERT_EXPIRED',
} as const;

/** Device certificates by PEM: one per simulated machine, on every handshake. */
const DEVICES = cacheSlot<X509Certificate>('sim.device', 1000);
const ROOTS = cacheSlot<X509Certificate[]>('sim.roots', 0);

/** The device certificate, verified by the one chain walker up to a trusted sim root. */
function verifyDevice(chain: string[], trust: SimTrust | undefined, now: Date, cache?: VerifyCache): X509Certificate {
  if (!trust || trust.roots.length === 0)
    fail(
      'SIM_NOT_TRUSTED',
      'no simulated TEE root is trusted: start the server with --sim-root ROOT.pem (from `cloak sim init`)',
    );
  const device = cached(cache, DEVICES, chain[0]!, () => readCert(chain[0]!, 'SIM_CERT_MALFORMED'));
  const roots = derived(cache, ROOTS, trust!.roots, () => trust!.roots.map((p) => readCert(p, 'SIM_ROOT_MALFORMED')));
  walkChain([device], SIM_CHAIN, { now, anchors: roots, cache });
  return device;
}

export const simVerifier: EvidenceVerifier = {
  tee: 'sim',
  async verify(evidence: unknown, ctx: VerifyContext): Promise<VerifiedEvidence> {
    const { report, signature, chain } = parseEvidence(evidence);
    const parsed = parseSimReport(report);
    const device = verifyDevice(chain, ctx.trust?.sim, ctx.now, ctx.cache);
    const ok = createVerify('sha384').update(report).verify(device.publicKey, signature);
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
