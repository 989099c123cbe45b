/**
 * A software TPM (swtpm) on loopback for tests, and the Azure-style AK the
 * tests provision in it. Tests only.
 */
import { execFileSync, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** A free loopback port whose next port is free too (swtpm's control channel). */
export async function freePortPair(): Promise<number> {
  for (;;) {
    const p: number = await new Promise((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const a = s.address() as { port: number };
        s.close(() => resolve(a.port));
      });
    });
    if (p >= 65535) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return p;
  }
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('swtpm did not start');
}

export interface Swtpm {
  port: number;
  /** The environment that points tpm2-tools at this TPM. */
  env: NodeJS.ProcessEnv;
  /** Runs a tpm2-tools command against this TPM, in `dir`. */
  tool(...args: string[]): Buffer;
  stop(): void;
}

/** Starts swtpm with its state in `dir` (the caller removes it after `stop`). */
export async function startSwtpm(dir: string): Promise<Swtpm> {
  const port = await freePortPair();
  const proc = spawn(
    'swtpm',
    [
      'socket',
      '--tpm2',
      '--server',
      `type=tcp,port=${port},bindaddr=127.0.0.1`,
      '--ctrl',
      `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
      '--tpmstate',
      `dir=${dir}`,
      '--flags',
      'not-need-init,startup-clear',
    ],
    { stdio: 'ignore' },
  );
  const stop = () => {
    if (proc.pid && proc.exitCode === null) proc.kill('SIGTERM');
  };
  try {
    await waitForPort(port);
  } catch (e) {
    stop();
    throw e;
  }
  const env = { ...process.env, TPM2TOOLS_TCTI: `swtpm:host=127.0.0.1,port=${port}` };
  return {
    port,
    env,
    tool: (...args) => execFileSync(args[0]!, args.slice(1), { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }),
    stop,
  };
}

/** An EK and, as on Azure, an RSA AK (RSASSA-SHA256) persisted at 0x81000003, its public key written to `dir`/ak.pem. */
export function provisionAzureAk(tpm: Swtpm): void {
  tpm.tool('tpm2_createek', '-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub');
  tpm.tool(
    'tpm2_createak',
    '-C',
    'ek.ctx',
    '-c',
    'ak.ctx',
    '-G',
    'rsa',
    '-g',
    'sha256',
    '-s',
    'rsassa',
    '-u',
    'ak.pem',
    '-f',
    'pem',
    '-n',
    'ak.name',
  );
  tpm.tool('tpm2_flushcontext', '-t');
  tpm.tool('tpm2_evictcontrol', '-C', 'o', '-c', 'ak.ctx', '0x81000003');
  tpm.tool('tpm2_flushcontext', '-t');
}
