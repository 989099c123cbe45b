import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CloakError } from '../lib/errors.ts';
import { action, say } from './output.ts';
import { layerLimitFlags, registryFlags, registryOptions, type RegistryFlags } from './convert.ts';

const collect = (v: string, all: string[]) => [...all, v];

export function runCommand(): Command {
  const run = new Command('run')
    .description(
      'Run an image confidentially on this machine: attest (simulated TEE), get layer keys and secrets, decrypt, run with runc',
    )
    .argument('<image>', 'oci:DIR[:TAG] or docker://HOST/REPO[:TAG] (encrypted by cloak convert, or plain)')
    .argument('[cmd...]', "command and arguments instead of the image's CMD")
    .option('--server <url>', 'the Cloak server (default $CLOAK_SERVER)')
    .option('--tee <tee>', 'evidence source (sim on this machine)', 'sim')
    .option('--sim-dir <dir>', 'the simulated TEE from `cloak sim init`', '.cloak/sim')
    .option(
      '--secret <repo/type/tag:path>',
      'deliver a KBS resource as /run/cloak/secrets/PATH (repeatable)',
      collect,
      [],
    )
    .option(
      '--secret-env <repo/type/tag:VAR>',
      'deliver a KBS resource as environment variable VAR (repeatable)',
      collect,
      [],
    )
    .option('--env <K=V>', 'set a variable in the container (repeatable)', collect, [])
    .option('--name <name>', 'the workload name presented in the init-data (default: from the image)')
    .option('--init-data <file>', 'present this CoCo init-data instead of one made from the flags')
    .option('-q, --quiet', 'no progress messages')
    .option(
      '--stop-timeout <seconds>',
      'after TERM/INT/HUP, how long the container may take to exit before it is killed',
      '10',
    );
  return layerLimitFlags(registryFlags(run))
    .addHelpText(
      'after',
      "\nExample:\n  cloak run oci:./app-enc:v1 --server http://127.0.0.1:8080 --secret default/secret/db-password:db-password\n  cloak run oci:./app-enc:v1 --server http://127.0.0.1:8080 -- /bin/sh -c 'cat /run/cloak/secrets/*'",
    )
    .action(
      action(
        async (
          image: string,
          cmd: string[],
          o: {
            server?: string;
            tee: string;
            simDir: string;
            secret: string[];
            secretEnv: string[];
            env: string[];
            name?: string;
            initData?: string;
            quiet?: boolean;
            stopTimeout: string;
            maxLayerSize?: string;
            maxLayerRatio?: string;
          } & RegistryFlags,
        ) => {
          const server = o.server ?? process.env.CLOAK_SERVER;
          if (!server) throw new CloakError('USAGE_NO_SERVER', 'say which server: --server URL or CLOAK_SERVER');
          if (o.tee !== 'sim')
            throw new CloakError(
              'USAGE_TEE',
              'cloak run plays the node with the simulated TEE (--tee sim); on TEE hardware use the agent in Kubernetes',
            );
          const split = (s: string, kind: 'file' | 'env') => {
            const i = s.lastIndexOf(':');
            if (i <= 0)
              throw new CloakError(
                'USAGE_SECRET',
                `--secret${kind === 'env' ? '-env' : ''} ${s}: expected repo/type/tag:${kind === 'env' ? 'VAR' : 'path'}`,
              );
            return { resource: s.slice(0, i), [kind]: s.slice(i + 1) };
          };
          const stopTimeout = Number(o.stopTimeout);
          if (!(stopTimeout >= 0))
            throw new CloakError('USAGE_STOP_TIMEOUT', `--stop-timeout ${o.stopTimeout}: expected a number of seconds`);
          const log = o.quiet ? undefined : (m: string) => say(`cloak: ${m}`);
          const { openRunnableImage, runConfidential, cleanupOnInterrupt } = await import('../runtime/index.ts');
          const { layerLimitsFrom } = await import('../oci/index.ts');
          const runnable = await openRunnableImage(image, {
            ...(await registryOptions(o)),
            layerLimits: layerLimitsFrom(o),
          });
          const unregister = cleanupOnInterrupt(runnable.cleanup);
          try {
            const { exitCode } = await runConfidential({
              image: runnable,
              server,
              simDir: o.simDir,
              name: o.name,
              initData: o.initData ? readFileSync(o.initData, 'utf8') : undefined,
              secrets: [...o.secret.map((s) => split(s, 'file')), ...o.secretEnv.map((s) => split(s, 'env'))],
              env: o.env,
              args: cmd,
              log,
              warn: (m: string) => say(`cloak: ${m}`),
              stopTimeoutMs: stopTimeout * 1000,
            });
            return exitCode;
          } finally {
            unregister();
            runnable.cleanup();
          }
        },
      ),
    );
}
