import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { freePort } from './net.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const registryAvailable = () => existsSync(REGISTRY_BIN);

/** Why a test that moves busybox images through docker-registry with skopeo cannot run on this machine, or false. */
export function registrySkopeoSkip(): string | false {
  const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;
  return registryAvailable() && hasSkopeo && existsSync('/bin/busybox')
    ? false
    : 'needs docker-registry, skopeo and busybox-static';
}

/** Starts Debian's docker-registry (the CNCF distribution server) on a loopback port with storage in a temp dir. */
export async function startRegistry(): Promise<{ host: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cloak-registry-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const proc = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://${host}/v2/`)).status === 200) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const skopeo = (...args: string[]) => spawnSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8' });
