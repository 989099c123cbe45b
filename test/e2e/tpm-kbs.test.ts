import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { AgentKbsClient } from '../../src/agent/index.ts';
import { tpmAttester } from '../../src/agent/evidence/tpm-evidence.ts';
import { TpmClient } from '../../src/agent/evidence/tpm-client.ts';
import { connectTcpTpm } from '../../src/agent/evidence/tpm-transport.ts';
import { provisionAzureAk, startSwtpm, type Swtpm } from '../../src/agent/evidence/testing/swtpm.ts';
import { startCloak, runCloak, http, tempDir } from './harness.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const skip = ['swtpm', 'tpm2_createak', 'tpm2_evictcontrol'].every(has) ? false : 'needs swtpm and tpm2-tools';

test(
  'KBS handshake with tee "tpm": a software TPM (swtpm) quotes over the KBS binding; the server releases only with the AK enrolled',
  { skip, timeout: 120_000 },
  async () => {
    const dir = tempDir('cloak-tpm-kbs-');
    let swtpm: Swtpm | undefined;
    let server;
    try {
      swtpm = await startSwtpm(dir.path);
      const { port, tool } = swtpm;
      provisionAzureAk(swtpm);

      server = await startCloak({ args: ['--tpm-ak', join(dir.path, 'ak.pem')] });
      const admin = { authorization: `Bearer ${server.token}` };
      await http('PUT', `${server.url}/api/v1/resources/default/secret/tpm`, {
        body: { value: Buffer.from('sealed for the TPM').toString('base64') },
        headers: admin,
      });
      const agent = (url: string) =>
        new AgentKbsClient({
          url,
          attester: tpmAttester('tpm', async () => new TpmClient(await connectTcpTpm('127.0.0.1', port))),
        });
      assert.equal((await agent(server.url).resource('default/secret/tpm')).toString(), 'sealed for the TPM');
      // The same through the CLI: cloak agent init --tee tpm.
      writeFileSync(
        join(dir.path, 'init.toml'),
        `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cloak.toml" = '''\nname = "tpm-app"\n[[secrets]]\nresource = "default/secret/tpm"\nfile = "tpm"\n'''\n`,
      );
      const agentInit = () =>
        runCloak([
          'agent',
          'init',
          '--tee',
          'tpm',
          '--tpm',
          `127.0.0.1:${port}`,
          '--server',
          server!.url,
          '--out',
          join(dir.path, 'out'),
          '--init-data',
          join(dir.path, 'init.toml'),
        ]);
      const unbound = await agentInit();
      assert.equal(unbound.code, 1, 'PCR 8 does not hold the init-data digest yet');
      assert.match(unbound.stderr, /KBS_INITDATA_MISMATCH/);
      // What the platform does at launch: extend PCR 8 with the init-data digest.
      tool(
        'tpm2_pcrextend',
        `8:sha256=${createHash('sha256')
          .update(readFileSync(join(dir.path, 'init.toml')))
          .digest('hex')}`,
      );
      const init = await agentInit();
      assert.equal(init.code, 0, init.stderr);
      assert.equal(readFileSync(join(dir.path, 'out', 'tpm'), 'utf8'), 'sealed for the TPM');
      const other = await startCloak();
      try {
        await assert.rejects(
          agent(other.url).resource('default/secret/tpm'),
          (e: any) => e.code === 'TPM_AK_NOT_TRUSTED' && e.details?.status === 401,
        );
      } finally {
        await other.stop();
      }
    } finally {
      await server?.stop();
      swtpm?.stop();
      dir.remove();
    }
  },
);
