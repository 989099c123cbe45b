import { mkdirSync, readFileSync, existsSync, writeFileSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CloakError } from '../lib/index.ts';
import { openStore, loadOrCreateSealingKey, type Store } from '../store/index.ts';
import { KeyBroker, Admin, TokenIssuer } from '../kbs/index.ts';
import { buildApp } from './app.ts';
import { parseListen, type ServerConfig } from './config.ts';
import { defaultVerifiers, collateralSource, verifyCache } from './verifiers.ts';
import { makeAdminAuth } from './admin-auth.ts';
import { listeningUrl } from './url.ts';
import { loadOrCreateSelfSigned, readTlsFiles, selfSignedNames, type TlsMaterial } from './tls.ts';

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  url: string;
  adminTokenFile: string;
  /** The certificate it serves HTTPS with; undefined for plain HTTP (loopback only). */
  tls?: TlsMaterial;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 60_000;

/** Opens the store, loads keys and trust, listens. The first start creates the admin token. */
export async function startServer(cfg: ServerConfig, log: (msg: string) => void = () => {}): Promise<RunningServer> {
  mkdirSync(cfg.data, { recursive: true, mode: 0o700 });
  const { host, port } = parseListen(cfg.listen);
  const tls = await serverTls(cfg, host);
  if (tls?.created)
    log(
      `created a self-signed TLS certificate ${tls.certFile} (key mode 0600) for ${selfSignedNames(host, cfg.tlsNames).join(', ')}`,
    );
  const sealingKey = loadOrCreateSealingKey(cfg.sealingKeyFile);
  const store = await openStore(cfg.db, { sealingKey, dataDir: cfg.data });
  try {
    const { token: adminToken, file: adminTokenFile, created } = loadOrCreateAdminToken(cfg.adminTokenFile);
    if (created) log(`created the admin token in ${adminTokenFile} (mode 0600); use it as CLOAK_TOKEN`);
    const readPems = (files: string[], what: string) =>
      files.map((f) => {
        try {
          return readFileSync(f, 'utf8');
        } catch {
          throw new CloakError('CONFIG_INVALID', `cannot read ${what} ${f}`);
        }
      });
    const simRoots = readPems(cfg.simRoots, 'sim root');
    const trustedAks = readPems(cfg.tpmAks, 'TPM attestation key');
    const tokens = await TokenIssuer.load(store, cfg.issuer);
    const broker = new KeyBroker({
      store,
      tokens,
      verifiers: defaultVerifiers(),
      collateral: collateralSource(cfg.collateral),
      cache: verifyCache(),
      trust: { sim: { roots: simRoots }, tpm: { trustedAks } },
    });
    for (const policy of [broker.attestationPolicy(), broker.resourcePolicy()])
      await policy.catch((e: Error) => log(`warning: ${e.message}`));
    const admin = new Admin(store);
    const app = await buildApp({
      broker,
      admin,
      tokens,
      authorize: makeAdminAuth(adminToken),
      logLevel: cfg.logLevel,
      https: tls,
      ready: async () => {
        await store.listResources();
        return true;
      },
    });
    // Expired sessions and refusal counts past their retention go at start and then every minute.
    const sweep = async () => {
      const now = new Date();
      await store.sweepSessions(now).catch(() => {});
      await store.pruneAuditCounts(new Date(now.getTime() - cfg.refusalRetention)).catch(() => {});
    };
    await sweep();
    const sweeper = setInterval(() => {
      void sweep();
    }, SWEEP_INTERVAL_MS);
    sweeper.unref();
    await app.listen({ host, port });
    const url = listeningUrl(app.server) ?? `${tls ? 'https' : 'http'}://${cfg.listen}`;
    return {
      app,
      store,
      url,
      adminTokenFile,
      tls,
      async close() {
        clearInterval(sweeper);
        await app.close();
        await store.close();
      },
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}

/** The operator's certificate, or the self-signed one in DATA/tls; none for plain HTTP (config allows that on loopback only). */
async function serverTls(cfg: ServerConfig, host: string): Promise<TlsMaterial | undefined> {
  if (cfg.tlsCert && cfg.tlsKey) return readTlsFiles(cfg.tlsCert, cfg.tlsKey);
  if (cfg.tlsSelfSigned) return loadOrCreateSelfSigned(join(cfg.data, 'tls'), selfSignedNames(host, cfg.tlsNames));
  return undefined;
}

function loadOrCreateAdminToken(file: string): { token: string; file: string; created: boolean } {
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length < 16)
      throw new CloakError('CONFIG_INVALID', `${file} holds no usable admin token (delete it to create a new one)`);
    return { token, file, created: false };
  }
  const token = randomBytes(32).toString('base64url');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { token, file, created: true };
}
