import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CloakError } from '../lib/errors.ts';
import { action, printJson, say } from './output.ts';
import { CDH_TIMEOUT_MS, DEFAULT_CDH_URL } from '../manifest/names.ts';

const collect = (v: string, list: string[] = []) => [...list, v];

/** CDH mode: the list of secrets comes from the arguments (pinned by the agent policy), the guest's data hub attests. */
interface InitOpts {
  out: string;
  cdh?: string | true;
  secretFile?: string[];
  secretEnv?: string[];
  timeout: string;
  server?: string;
  initData?: string;
  json?: boolean;
}

async function cdhInit(o: InitOpts) {
  if (o.server)
    throw new CloakError(
      'USAGE_CONFLICT',
      "--server is for an agent that attests itself; with --cdh the guest's data hub talks to the KBS named in the pod's init-data",
    );
  if (o.initData)
    throw new CloakError(
      'USAGE_CONFLICT',
      '--init-data is for an agent that attests itself; with --cdh the guest attests and the secrets are --secret-file/--secret-env',
    );
  const seconds = Number(o.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600)
    throw new CloakError('USAGE_TIMEOUT', '--timeout must be a number of seconds (0 < s ≤ 3600)');
  const { runAgentCdh, secretsFromArgs, cdhBaseUrl } = await import('../agent/index.ts');
  const url = cdhBaseUrl(typeof o.cdh === 'string' ? o.cdh : DEFAULT_CDH_URL);
  const secrets = secretsFromArgs(o.secretFile ?? [], o.secretEnv ?? []);
  const result = await runAgentCdh({ url, out: o.out, secrets, timeoutMs: seconds * 1000 });
  const env = result.env.map((e) => e.slice(0, e.indexOf('=')));
  if (o.json) printJson({ cdh: url, files: result.files, env });
  say(
    `got ${secrets.length} secret(s) from the data hub at ${url}; wrote ${result.files.length} file(s)${env.length ? ` and ${env.length} variable(s)` : ''} to ${o.out}`,
  );
}

export function agentCommand(): Command {
  const agent = new Command('agent').description(
    'The in-TEE agent: proves the workload, receives its secrets, then lets the app start',
  );
  agent
    .command('init')
    .description(
      "Get the workload's secrets (from the CoCo guest's data hub, or by attesting itself), write them into --out, exit",
    )
    .requiredOption('--out <dir>', 'where secrets go (a memory-backed emptyDir in Kubernetes)')
    .option(
      '--cdh [url]',
      `get the secrets from the CoCo guest's confidential data hub, which attests for the pod (default ${DEFAULT_CDH_URL}); implied by --secret-file/--secret-env`,
    )
    .option(
      '--secret-file <path=resource>',
      'with --cdh: write resource repo/type/tag to this file under --out (repeatable)',
      collect,
    )
    .option(
      '--secret-env <name=resource>',
      'with --cdh: put resource repo/type/tag into cloak.env as this variable (repeatable)',
      collect,
    )
    .option('--timeout <seconds>', 'with --cdh: how long to wait for each resource', String(CDH_TIMEOUT_MS / 1000))
    .option('--server <url>', 'the Cloak server (default: server in the init-data, then $CLOAK_SERVER)')
    .option(
      '--init-data <file>',
      'CoCo init-data TOML with a "cloak.toml" workload entry (default: $CLOAK_INIT_DATA, the TOML or its base64-gzip annotation form)',
    )
    .option('--tee <tee>', 'evidence source: auto, sim, tdx (configfs-tsm), tpm', 'auto')
    .option('--tpm <device|host:port>', 'the TPM for --tee tpm (default /dev/tpmrm0)')
    .option('--sim-dir <dir>', 'simulated TEE from `cloak sim init` (development only)')
    .option('--measurement <hex>', 'launch measurement the simulated TEE reports')
    .option('--json', 'print what was written as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  cloak agent init --cdh --out /run/cloak/secrets --secret-file tls.key=default/secret/web-tls-key --secret-env DB_PASSWORD=default/secret/db\n  cloak agent init --server http://kbs:8080 --out /run/cloak/secrets --init-data /run/cloak/init-data.toml\n  cloak agent init --tee sim --sim-dir .cloak/sim --server http://127.0.0.1:8080 --out /tmp/s --init-data init.toml',
    )
    .action(
      action(
        async (
          o: InitOpts & {
            tee: string;
            tpm?: string;
            simDir?: string;
            measurement?: string;
          },
        ) => {
          if (o.cdh || o.secretFile || o.secretEnv) return cdhInit(o);
          const { decodeInitData } = await import('../lib/initdata.ts');
          const { chooseAttester, parseWorkloadInitData, runAgentInit } = await import('../agent/index.ts');
          const initData = o.initData
            ? readFileSync(o.initData, 'utf8')
            : process.env.CLOAK_INIT_DATA
              ? decodeInitData(process.env.CLOAK_INIT_DATA)
              : undefined;
          if (!initData)
            throw new CloakError('USAGE_NO_INITDATA', 'give the workload: --init-data FILE (or CLOAK_INIT_DATA)');
          const workload = parseWorkloadInitData(initData);
          const server = o.server ?? workload.server ?? process.env.CLOAK_SERVER;
          if (!server)
            throw new CloakError(
              'USAGE_NO_SERVER',
              'say which server: --server URL, server = "…" in cloak.toml, or CLOAK_SERVER',
            );
          const attester = chooseAttester({
            tee: o.tee,
            tpm: o.tpm,
            simDir: o.simDir,
            measurement: o.measurement,
            initData,
          });
          const result = await runAgentInit({ server, out: o.out, workload, initData, attester });
          if (o.json) printJson({ workload: workload.name, tee: attester.tee, files: result.files, env: result.env });
          say(
            `workload ${workload.name} attested (${attester.tee}); wrote ${result.files.length} secret file(s)${result.env.length ? ` and ${result.env.length} variable(s)` : ''} to ${o.out}`,
          );
        },
      ),
    );
  return agent;
}
