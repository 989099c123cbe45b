import { Command } from 'commander';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloakError } from '../lib/errors.ts';
import { action, printJson, say } from './output.ts';

export function simCommand(): Command {
  const sim = new Command('sim').description('The simulated TEE for development (INSECURE: proves nothing)');
  sim
    .command('init')
    .description('Create a simulated vendor root and a device key')
    .option('--dir <dir>', 'where to write root.pem, device.pem, device.key', '.cloak/sim')
    .option('--force', 'overwrite existing files')
    .option('--json', 'print the file paths as JSON')
    .addHelpText('after', '\nExample:\n  cloak sim init --dir .cloak/sim\n  cloak serve --sim-root .cloak/sim/root.pem')
    .action(
      action(async (o: { dir: string; force?: boolean; json?: boolean }) => {
        const dir = resolve(o.dir);
        const files = { root: join(dir, 'root.pem'), device: join(dir, 'device.pem'), key: join(dir, 'device.key') };
        if (!o.force && Object.values(files).some(existsSync))
          throw new CloakError('SIM_EXISTS', `${dir} already holds a simulated TEE; pass --force to replace it`);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const { createSimHardware } = await import('../attest/index.ts');
        const hw = await createSimHardware();
        writeFileSync(files.root, hw.rootCertPem);
        writeFileSync(files.device, hw.deviceCertPem);
        writeFileSync(files.key, hw.deviceKeyPem, { mode: 0o600 });
        if (o.json) printJson(files);
        say(`simulated TEE in ${dir}: trust it with  cloak serve --sim-root ${files.root}`);
      }),
    );
  return sim;
}
