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
    .option('--collateral <dir>', 'offline vendor collateral (Intel PCS / AMD KDS responses; Intel collateral is re-read every 10 minutes); default: fetched and cached')
    .option('--tpm-ak <pem...>', 'enrolled TPM attestation key (public PEM) for the "tpm" TEE')
    .option('--log-level <level>', 'pino log level (default info)')
    .addHelpText('after', '\nExample:\n  cloak serve --data ./.cloak --listen 127.0.0.1:8080\n  CLOAK_DB=postgres://cloak@db/cloak cloak serve --listen 0.0.0.0:8080')
    .action(action(async (o: { listen?: string; data?: string; db?: string; config?: string; simRoot?: string[]; tpmAk?: string[]; collateral?: string; logLevel?: string }) => {
      const { loadServerConfig, startServer } = await import('../server/index.ts');
      const cfg = loadServerConfig({ listen: o.listen, data: o.data, db: o.db, config: o.config, simRoots: o.simRoot, tpmAks: o.tpmAk, collateral: o.collateral, logLevel: o.logLevel });
      const server = await startServer(cfg, say);
      say(`cloak serving on ${server.url} (data ${cfg.data}, db ${cfg.db.startsWith('sqlite:') ? cfg.db : 'postgres'})`);
      say(`admin token: ${server.adminTokenFile}`);
      const stop = async () => { await server.close(); process.exit(0); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise(() => {});
    }));
}
