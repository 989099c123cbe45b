import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CloakError } from '../lib/errors.ts';
import { action, printJson, say } from './output.ts';

export function agentCommand(): Command {
  const agent = new Command('agent').description('The in-TEE agent: proves the workload, receives its secrets, then lets the app start');
  agent.command('init')
    .description('Attest as the workload of the init-data, write its secrets into --out, exit')
    .requiredOption('--out <dir>', 'where secrets go (a memory-backed emptyDir in Kubernetes)')
    .option('--server <url>', 'the Cloak server (default: server in the init-data, then $CLOAK_SERVER)')
    .option('--init-data <file>', 'CoCo init-data TOML with a "cloak.toml" workload entry (default: $CLOAK_INIT_DATA, the TOML or its base64-gzip annotation form)')
    .option('--tee <tee>', 'evidence source: auto, sim, tdx (configfs-tsm), tpm', 'auto')
    .option('--tpm <device|host:port>', 'the TPM for --tee tpm (default /dev/tpmrm0)')
    .option('--sim-dir <dir>', 'simulated TEE from `cloak sim init` (development only)')
    .option('--measurement <hex>', 'launch measurement the simulated TEE reports')
    .option('--json', 'print what was written as JSON')
    .addHelpText('after', '\nExample:\n  cloak agent init --server http://kbs:8080 --out /run/cloak/secrets --init-data /run/cloak/init-data.toml\n  cloak agent init --tee sim --sim-dir .cloak/sim --server http://127.0.0.1:8080 --out /tmp/s --init-data init.toml')
    .action(action(async (o: { out: string; server?: string; initData?: string; tee: string; tpm?: string; simDir?: string; measurement?: string; json?: boolean }) => {
      const { decodeInitData } = await import('../lib/initdata.ts');
      const { chooseAttester, parseWorkloadInitData, runAgentInit } = await import('../agent/index.ts');
      const initData = o.initData ? readFileSync(o.initData, 'utf8') : process.env.CLOAK_INIT_DATA ? decodeInitData(process.env.CLOAK_INIT_DATA) : undefined;
      if (!initData) throw new CloakError('USAGE_NO_INITDATA', 'give the workload: --init-data FILE (or CLOAK_INIT_DATA)');
      const workload = parseWorkloadInitData(initData);
      const server = o.server ?? workload.server ?? process.env.CLOAK_SERVER;
      if (!server) throw new CloakError('USAGE_NO_SERVER', 'say which server: --server URL, server = "…" in cloak.toml, or CLOAK_SERVER');
      const attester = chooseAttester({ tee: o.tee, tpm: o.tpm, simDir: o.simDir, measurement: o.measurement, initData });
      const result = await runAgentInit({ server, out: o.out, workload, initData, attester });
      if (o.json) printJson({ workload: workload.name, tee: attester.tee, files: result.files, env: result.env });
      say(`workload ${workload.name} attested (${attester.tee}); wrote ${result.files.length} secret file(s)${result.env.length ? ` and ${result.env.length} variable(s)` : ''} to ${o.out}`);
    }));
  return agent;
}
