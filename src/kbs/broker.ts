import { randomBytes, randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import {
  canonicalJson,
  CloakError,
  constantTimeEqual,
  parseResourcePath,
  toHex,
  type ErrorCode,
} from '../lib/index.ts';
import {
  runtimeDataDigest,
  type EvidenceVerifier,
  type CollateralSource,
  type TrustMaterial,
  type VerifyCache,
} from '../attest/index.ts';
import {
  appraise,
  allowsRelease,
  parseAttestationPolicy,
  parseResourcePolicy,
  DEFAULT_ATTESTATION_POLICY,
  DEFAULT_RESOURCE_POLICY,
  type AttestationPolicy,
  type ResourcePolicy,
  type AppraisalInput,
  type Appraisal,
} from '../policy/index.ts';
import type { Store, SessionRecord, CountInput } from '../store/index.ts';
import { KBS_PROTOCOL_VERSION, SESSION_TTL_MS } from './protocol.ts';
import type { AttestRequest, AuthRequest, TeePubkey } from './schemas.ts';
import { checkTeePubkey, encryptToTee, type FlattenedJwe } from './jwe.ts';
import { parseInitData } from './initdata.ts';
import type { TokenIssuer } from './token.ts';
import { earClaims, readEar } from './ear.ts';
import { referenceValuesForPolicy } from './refs.ts';
import { parseManifest, type Manifest } from './manifest.ts';
import { releaseByManifest } from './manifest-release.ts';
import { launchFails, launchOf, workloadNamed } from './launch-pins.ts';
import type { LaunchCheck } from '../policy/index.ts';

export interface BrokerOptions {
  store: Store;
  tokens: TokenIssuer;
  verifiers: EvidenceVerifier[];
  /** Trust material per TEE handed to verifiers (`VerifyContext.trust`). */
  trust?: TrustMaterial;
  collateral?: CollateralSource;
  /** The verifiers' caches (`VerifyContext.cache`), one per process; without one, every attestation verifies from scratch. */
  cache?: VerifyCache;
  clock?: () => Date;
}

/** Where a request came from (the client address), for the counts of refusals and challenges. */
export type Source = string | undefined;

/** Who asks for a resource: the session cookie or a bearer token. */
export type Credential = { sessionId?: string; bearer?: string };

const refused = (code: ErrorCode, message: string) => new CloakError(code, message);

/**
 * The key broker: the CoCo KBS handshake (auth → attest → resource), one way:
 * evidence → verify → bind → appraise → token → release. Nothing is released
 * unless every step passed. Accepted attestations and releases go to the hash
 * chain before the client sees the token or the secret; challenges and refusals,
 * which anyone can cause, are counted per source and reason instead.
 */
export class KeyBroker {
  private readonly verifiers: Map<string, EvidenceVerifier>;
  private readonly clock: () => Date;
  private policyCache = new Map<string, AttestationPolicy | ResourcePolicy>();

  constructor(private readonly opts: BrokerOptions) {
    this.verifiers = new Map(opts.verifiers.map((v) => [v.tee, v]));
    this.clock = opts.clock ?? (() => new Date());
  }

  get tees(): string[] {
    return [...this.verifiers.keys()];
  }

  async auth(req: AuthRequest, source?: Source): Promise<{ sessionId: string; nonce: string; expires: Date }> {
    const { store } = this.opts;
    try {
      if (req.version !== KBS_PROTOCOL_VERSION) {
        throw refused(
          'KBS_PROTOCOL_VERSION',
          `protocol version "${req.version}" is not supported; this server speaks ${KBS_PROTOCOL_VERSION}`,
        );
      }
      if (!this.verifiers.has(req.tee)) {
        throw refused('KBS_UNKNOWN_TEE', `TEE "${req.tee}" is not supported (supported: ${this.tees.join(', ')})`);
      }
      const now = this.clock();
      const session: SessionRecord = {
        id: randomUUID().replace(/-/g, ''),
        tee: req.tee,
        nonce: randomBytes(32).toString('base64'),
        createdAt: now,
        expiresAt: new Date(now.getTime() + SESSION_TTL_MS),
        attested: false,
      };
      await store.createSession(session);
      await this.count({ kind: 'kbs.auth', outcome: 'ok', source, code: 'OK', sample: `challenge for tee ${req.tee}` });
      return { sessionId: session.id, nonce: session.nonce, expires: session.expiresAt };
    } catch (e) {
      await this.countRefusal('kbs.auth', source, e);
      throw e;
    }
  }

  /**
   * One nonce, one token: of attests racing on a session the first to commit wins (atomically, on every replica);
   * the others get the winner's token if they bound the same tee-pubkey, a refusal otherwise.
   */
  async attest(sessionId: string | undefined, req: AttestRequest, source?: Source): Promise<string> {
    const { store } = this.opts;
    let session: SessionRecord | undefined;
    try {
      session = await this.liveSession(sessionId);
      const teePubkey = req['runtime-data']['tee-pubkey'];
      if (session.attested) return tokenForSameKey(session, teePubkey);
      const token = await this.appraiseEvidence(session, req);
      const result = await store.attestSession(
        session.id,
        { token, teePubkey },
        { kind: 'kbs.attest', outcome: 'ok', subject: session.id, details: { tee: session.tee, source } },
      );
      if (result.won) return token;
      if (!result.session)
        throw refused(
          'KBS_SESSION_UNKNOWN',
          'the session ended while this attest ran (another attempt on it failed): start again with POST /kbs/v0/auth',
        );
      return tokenForSameKey(result.session, teePubkey);
    } catch (e) {
      // A failed attempt burns the session and its nonce (the client starts over with /auth), unless an attest on it already won.
      if (session) await store.abandonSession(session.id).catch(() => {});
      await this.countRefusal('kbs.attest', source, e);
      throw e;
    }
  }

  private async appraiseEvidence(session: SessionRecord, req: AttestRequest): Promise<string> {
    const runtime = req['runtime-data'];
    if (!constantTimeEqual(Buffer.from(runtime.nonce), Buffer.from(session.nonce))) {
      throw refused(
        'KBS_NONCE_MISMATCH',
        'runtime-data nonce is not the nonce this session was given: request a new challenge with /kbs/v0/auth',
      );
    }
    await checkTeePubkey(runtime['tee-pubkey']);
    const { primary, additional } = splitEvidence(req['tee-evidence']);
    const verifier = this.verifiers.get(session.tee)!;
    const now = this.clock();
    const verified = await verifier
      .verify(primary, { now, collateral: this.opts.collateral, trust: this.opts.trust, cache: this.opts.cache })
      .catch((e: unknown) => {
        // Evidence that does not verify is an attestation failure (401), whatever the verifier's default status.
        throw e instanceof CloakError ? new CloakError(e.code, e.message, { kind: 'unauthorized', cause: e }) : e;
      });

    const binding = runtimeDataDigest(runtime.nonce, runtime['tee-pubkey'], additional);
    if (!constantTimeEqual(verified.reportData, verifier.expectedReportData(binding))) {
      throw refused(
        'KBS_REPORT_DATA_MISMATCH',
        'the evidence report-data does not bind this nonce and tee-pubkey (expected SHA-384 of the canonical runtime data)',
      );
    }
    const initData = req['init-data'] ? parseInitData(req['init-data']) : undefined;
    if (initData) checkInitDataBinding(verifier, verified, initData);
    const { appraisal } = await this.appraiseNow({
      tee: verified.tee,
      insecure: verified.insecure,
      claims: verified.claims,
      init_data: initData?.claims ?? {},
    });
    return this.opts.tokens.sign(
      earClaims({
        verified,
        appraisal,
        runtime,
        initData,
        reportData: toHex(verified.reportData),
      }),
      now,
    );
  }

  async resource(cred: Credential, path: string, source?: Source): Promise<FlattenedJwe> {
    const { store } = this.opts;
    const subject = cred.sessionId ?? (cred.bearer ? 'bearer' : undefined);
    try {
      const [repository, type, tag] = parseResourcePath(path);
      const payload = await this.authenticate(cred);
      const ear = readEar(payload);
      // The token says what was verified; whether that still suffices is for the policy in force now,
      // so tightening the attestation policy (or the reference values) revokes tokens already issued.
      const { appraisal, launch, manifest } = await this.appraiseNow({
        tee: ear.tee,
        insecure: ear.insecure,
        claims: ear.claims,
        init_data: ear.initData,
      });
      const policy = await this.resourcePolicy();
      const input = {
        tee: ear.tee,
        insecure: ear.insecure,
        status: appraisal.status,
        trust_vector: appraisal.trustVector,
        claims: ear.claims,
        init_data: ear.initData,
        resource: { repository, type, tag, path: `${repository}/${type}/${tag}` },
      };
      if (!allowsRelease(policy, input)) {
        const why = launchFails(launch) ? `: ${launch.reason}` : '';
        throw refused(
          'KBS_POLICY_DENY',
          `the resource policy does not release ${path} to this workload (status ${appraisal.status})${why}`,
        );
      }
      if (manifest) releaseByManifest(manifest, ear, input);
      const value = await store.getResource(`${repository}/${type}/${tag}`);
      if (!value) throw refused('KBS_RESOURCE_NOT_FOUND', `resource ${path} does not exist`);
      const jwe = await encryptToTee(ear.teePubkey, value);
      await store.appendAudit({
        kind: 'kbs.release',
        outcome: 'ok',
        subject,
        details: { resource: path, tee: ear.tee, source },
      });
      return jwe;
    } catch (e) {
      await this.countRefusal('kbs.release', source, e);
      throw e;
    }
  }

  /**
   * Appraises verified claims under the attestation policy and reference values in force now; contraindicated is refused.
   * `refs.launch` says whether the launch measurement is pinned for the workload the init-data names (launch-pins.ts);
   * the manifest it read is returned, so a release decides under that one manifest.
   */
  private async appraiseNow(
    input: Omit<AppraisalInput, 'refs'>,
  ): Promise<{ appraisal: Appraisal; launch: LaunchCheck; manifest: Manifest | undefined }> {
    const policy = await this.attestationPolicy();
    const refs = await referenceValuesForPolicy(this.opts.store);
    const manifest = await this.currentManifest();
    const workload = workloadNamed(manifest, input.init_data);
    const launch = launchOf(input, workload, refs.measurements as string[]);
    const appraisal = appraise(policy, {
      ...input,
      refs: { ...refs, launch: { required: launch.required, listed: launch.listed, pinned: launch.pinned } },
    });
    if (appraisal.status === 'contraindicated') {
      throw refused(
        'KBS_ATTESTATION_CONTRAINDICATED',
        `the attestation policy contraindicates this evidence (trust vector ${JSON.stringify(appraisal.trustVector)})`,
      );
    }
    return { appraisal, launch, manifest };
  }

  private async authenticate(cred: Credential): Promise<JWTPayload> {
    const now = this.clock();
    if (cred.bearer) return this.opts.tokens.verify(cred.bearer, now);
    if (!cred.sessionId)
      throw refused(
        'KBS_UNAUTHENTICATED',
        'no session cookie and no bearer token: attest first (/kbs/v0/auth, /kbs/v0/attest)',
      );
    const session = await this.liveSession(cred.sessionId);
    if (!session.attested || !session.token)
      throw refused('KBS_NOT_ATTESTED', 'this session has not attested yet: POST /kbs/v0/attest first');
    return this.opts.tokens.verify(session.token, now);
  }

  private async liveSession(id: string | undefined): Promise<SessionRecord> {
    if (!id) throw refused('KBS_SESSION_UNKNOWN', 'no kbs-session-id cookie: start with POST /kbs/v0/auth');
    const session = await this.opts.store.getSession(id);
    if (!session)
      throw refused('KBS_SESSION_UNKNOWN', 'unknown or finished session: start again with POST /kbs/v0/auth');
    if (session.expiresAt.getTime() <= this.clock().getTime()) {
      await this.opts.store.deleteSession(id);
      throw refused('KBS_SESSION_EXPIRED', 'the session expired: start again with POST /kbs/v0/auth');
    }
    return session;
  }

  private manifestCache?: Manifest;

  /** The manifest in force (parsed once per version), or undefined when none was set. */
  async currentManifest(): Promise<Manifest | undefined> {
    const record = await this.opts.store.getManifest();
    if (!record) return undefined;
    if (this.manifestCache?.digest !== record.digest) {
      // Like a stored policy, a stored manifest that no longer reads (a rule tightened since it was set) fails closed, as the server's fault.
      this.manifestCache = inForce(
        'manifest',
        () => parseManifest(record.text),
        'owners set a valid manifest (cloak manifest set)',
      );
    }
    return this.manifestCache;
  }

  async attestationPolicy(): Promise<AttestationPolicy> {
    const text = (await this.opts.store.getPolicy('attestation')) ?? DEFAULT_ATTESTATION_POLICY;
    return this.cachedPolicy('a:' + text, () =>
      inForce('attestation', () => parseAttestationPolicy(text)),
    ) as AttestationPolicy;
  }

  async resourcePolicy(): Promise<ResourcePolicy> {
    const text = (await this.opts.store.getPolicy('resource')) ?? DEFAULT_RESOURCE_POLICY;
    return this.cachedPolicy('r:' + text, () => inForce('resource', () => parseResourcePolicy(text))) as ResourcePolicy;
  }

  private cachedPolicy(key: string, make: () => AttestationPolicy | ResourcePolicy) {
    let p = this.policyCache.get(key);
    if (!p) {
      if (this.policyCache.size > 16) this.policyCache.clear();
      p = make();
      this.policyCache.set(key, p);
    }
    return p;
  }

  private countRefusal(kind: string, source: Source, e: unknown) {
    const code = e instanceof CloakError ? e.code : 'INTERNAL';
    const reason = e instanceof Error ? e.message : String(e);
    return this.count({
      kind,
      outcome: e instanceof CloakError ? 'refused' : 'error',
      source,
      code,
      sample: `${code}: ${reason}`,
    });
  }

  private async count(entry: Omit<CountInput, 'source'> & { source: Source }) {
    try {
      await this.opts.store.countAudit({ ...entry, source: entry.source ?? 'unknown' }, this.clock());
    } catch {
      // The answer stands even if counting fails; the caller sees the original outcome.
    }
  }
}

/**
 * A stored policy that no longer parses (e.g. the old `allowInsecure: true`)
 * fails closed, as the server's fault: nothing is admitted until an admin sets it again.
 */
function inForce<T>(kind: string, parse: () => T, fix = `an admin sets it again (cloak policy set ${kind} FILE)`): T {
  try {
    return parse();
  } catch (e) {
    const what = kind === 'manifest' ? 'manifest' : `${kind} policy`;
    throw new CloakError(
      kind === 'manifest' ? 'MANIFEST_IN_FORCE_INVALID' : 'POLICY_IN_FORCE_INVALID',
      `the ${what} in force is not valid (${(e as Error).message}): nothing is admitted until ${fix}`,
      { cause: e },
    );
  }
}

/** An attested session's token, for a repeated or losing attest that bound the same tee-pubkey; any other key is refused. */
function tokenForSameKey(session: SessionRecord, teePubkey: unknown): string {
  if (session.token && canonicalJson(session.teePubkey) === canonicalJson(teePubkey)) return session.token;
  throw refused(
    'KBS_SESSION_ATTESTED',
    'this session already attested with another tee-pubkey: one challenge yields one token; start again with POST /kbs/v0/auth',
  );
}

/**
 * The init-data must be the one the hardware holds (SNP HOST_DATA, TDX MRCONFIGID, SGX CONFIGID, vTPM PCR 8).
 * Init-data a hardware TEE cannot bind (a vTPM takes sha256 only) is refused rather than believed.
 */
function checkInitDataBinding(
  verifier: EvidenceVerifier,
  verified: { tee: string; insecure: boolean; initData?: Buffer },
  initData: { digest: Buffer; algorithm: string },
): void {
  const expected = verifier.expectedInitData?.(initData.digest);
  if (!expected) {
    if (verified.insecure) return;
    throw refused(
      'KBS_INITDATA_UNBOUND',
      `TEE ${verified.tee} cannot hold a ${initData.algorithm} init-data digest${/tpm$/.test(verified.tee) ? ' (PCR 8 is extended with sha256 digests only: set algorithm = "sha256" in the init-data)' : ''}; the init-data is refused rather than believed`,
    );
  }
  if (!verified.initData || !constantTimeEqual(verified.initData, expected)) {
    throw refused(
      'KBS_INITDATA_MISMATCH',
      `the init-data digest (${initData.algorithm} ${initData.digest.toString('hex')}) does not match what the evidence holds (${verified.initData?.toString('hex') ?? 'nothing'}): the pod was started with other init-data`,
    );
  }
}

function splitEvidence(te: AttestRequest['tee-evidence']): { primary: unknown; additional: string } {
  if (typeof te === 'string') {
    try {
      return { primary: JSON.parse(te), additional: '' };
    } catch {
      throw refused('KBS_EVIDENCE_MALFORMED', 'tee-evidence is a string but not JSON');
    }
  }
  return { primary: te.primary_evidence, additional: te.additional_evidence ?? '' };
}

export type { TeePubkey };
