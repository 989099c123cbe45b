import { Command } from 'commander';
import { action, say } from './output.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description('Run the Cloak control plane: key broker (CoCo KBS 0.4.0), attestation, secrets, admin API')
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:8080)')
    .option('--data <dir>', 'data directory: database, sealing key, admin token (default ./.cloak)')
    .option('--db <url>', 'sqlite:PATH (default DATA/cloak.db) or postgres://user@host/db')
    .option('--config <file>', 'cloak.yaml with the same settings (flags win, then CLOAK_* variables)')
    .option('--sim-root <pem...>', 'trust this simulated-TEE root (from `cloak sim init`; development only)')
    .option(
      '--collateral <dir>',
      'offline vendor collateral (Intel PCS / AMD KDS responses; Intel collateral is re-read every 10 minutes); default: fetched and cached',
    )
    .option('--tpm-ak <pem...>', 'enrolled TPM attestation key (public PEM) for the "tpm" TEE')
    .option('--log-level <level>', 'pino log level (default info)')
    .option('--tls-cert <pem>', 'serve HTTPS with this certificate (chain), with --tls-key')
    .option('--tls-key <pem>', 'the private key of --tls-cert')
    .option(
      '--tls-self-signed',
      'serve HTTPS with a self-signed ECDSA P-256 certificate, created in DATA/tls on first start and reused',
    )
    .option(
      '--tls-name <name...>',
      'extra DNS names or IPs the self-signed certificate covers (the host guests and clients connect to)',
    )
    .addHelpText(
      'after',
      `
HTTPS is required on any address but loopback: give --tls-cert/--tls-key or --tls-self-signed
(cloak.yaml: tlsCert, tlsKey, tlsSelfSigned, tlsNames; CLOAK_TLS_CERT, CLOAK_TLS_KEY,
CLOAK_TLS_SELF_SIGNED=true, CLOAK_TLS_NAMES=a,b). The certificate's sha256 fingerprint is printed at
start: \`cloak generate --server https://… --server-fingerprint sha256:…\` pins it into the pods' init-data.
Plain HTTP is for a server and its clients on one machine (127.0.0.1, ::1), as \`cloak run\` uses it.

Example:
  cloak serve --data ./.cloak --listen 127.0.0.1:8080
  cloak serve --listen 0.0.0.0:8443 --tls-self-signed --tls-name cloak.example
  CLOAK_DB=postgres://cloak@db/cloak cloak serve --listen 0.0.0.0:8443 --tls-cert tls.crt --tls-key tls.key`,
    )
    .action(
      action(
        async (o: {
          listen?: string;
          data?: string;
          db?: string;
          config?: string;
          simRoot?: string[];
          tpmAk?: string[];
          collateral?: string;
          logLevel?: string;
          tlsCert?: string;
          tlsKey?: string;
          tlsSelfSigned?: boolean;
          tlsName?: string[];
        }) => {
          const { loadServerConfig, startServer } = await import('../server/index.ts');
          const cfg = loadServerConfig({
            listen: o.listen,
            data: o.data,
            db: o.db,
            config: o.config,
            simRoots: o.simRoot,
            tpmAks: o.tpmAk,
            collateral: o.collateral,
            logLevel: o.logLevel,
            tlsCert: o.tlsCert,
            tlsKey: o.tlsKey,
            tlsSelfSigned: o.tlsSelfSigned,
            tlsNames: o.tlsName,
          });
          const server = await startServer(cfg, say);
          say(
            `cloak serving on ${server.url} (data ${cfg.data}, db ${cfg.db.startsWith('sqlite:') ? cfg.db : 'postgres'})`,
          );
          if (server.tls) say(`TLS certificate ${server.tls.certFile}, fingerprint ${server.tls.fingerprint}`);
          else say('plain HTTP on loopback: for clients on this machine only');
          say(`admin token: ${server.adminTokenFile}`);
          const stop = async () => {
            await server.close();
            process.exit(0);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          await new Promise(() => {});
        },
      ),
    );
}
