import type { JWTPayload } from 'jose';
import { CloakError } from '../lib/index.ts';
import type { VerifiedEvidence } from '../attest/index.ts';
import type { Appraisal } from '../policy/index.ts';
import type { InitData } from './initdata.ts';
import type { TeePubkey } from './schemas.ts';

export const EAR_PROFILE = 'tag:github.com,2023:veraison/ear';
export const VERIFIER_ID = { developer: 'https://github.com/cloak', build: 'cloak 0.1.0' };

/** Builds the EAR claims set (IETF RATS EAR, AR4SI trust vector) of one appraisal. */
export function earClaims(a: {
  verified: VerifiedEvidence;
  appraisal: Appraisal;
  runtime: { nonce: string; 'tee-pubkey': TeePubkey };
  initData?: InitData;
  reportData: string;
}): JWTPayload {
  const { verified, appraisal } = a;
  return {
    eat_profile: EAR_PROFILE,
    'ear.verifier-id': VERIFIER_ID,
    submods: {
      cpu0: {
        'ear.status': appraisal.status,
        'ear.trustworthiness-vector': appraisal.trustVector,
        'ear.appraisal-policy-id': appraisal.policyId,
        'ear.veraison.annotated-evidence': {
          tee: verified.tee,
          insecure: verified.insecure,
          [verified.tee]: verified.claims,
          report_data: a.reportData,
          init_data: a.initData ? a.initData.digest.toString('hex') : null,
          runtime_data_claims: { nonce: a.runtime.nonce, 'tee-pubkey': a.runtime['tee-pubkey'] },
          init_data_claims: a.initData?.claims ?? null,
        },
      },
    },
  };
}

export interface EarView {
  tee: string;
  insecure: boolean;
  status: string;
  trustVector: Record<string, unknown>;
  claims: Record<string, unknown>;
  initData: Record<string, unknown>;
  initDataDigest?: string;
  teePubkey: TeePubkey;
}

/** Reads what release decisions need from a verified token's claims. */
export function readEar(payload: JWTPayload): EarView {
  const cpu0 = (payload.submods as Record<string, Record<string, unknown>> | undefined)?.cpu0;
  const ev = cpu0?.['ear.veraison.annotated-evidence'] as Record<string, unknown> | undefined;
  const rt = ev?.runtime_data_claims as Record<string, unknown> | undefined;
  const key = rt?.['tee-pubkey'] as TeePubkey | undefined;
  if (!cpu0 || !ev || !key || typeof ev.tee !== 'string') {
    throw new CloakError('KBS_TOKEN_INVALID', 'the token lacks the EAR submodule with the TEE key');
  }
  return {
    tee: ev.tee,
    insecure: ev.insecure === true,
    status: String(cpu0['ear.status']),
    trustVector: (cpu0['ear.trustworthiness-vector'] as Record<string, unknown>) ?? {},
    claims: (ev[ev.tee] as Record<string, unknown>) ?? {},
    initData: (ev.init_data_claims as Record<string, unknown>) ?? {},
    initDataDigest: typeof ev.init_data === 'string' ? ev.init_data : undefined,
    teePubkey: key,
  };
}
