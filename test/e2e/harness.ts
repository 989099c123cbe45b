import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INSECURE_DEV_ATTESTATION_POLICY } from '../../src/policy/index.ts';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repoRoot, 'src', 'cli', 'main.ts');

/** Runs the cloak CLI to completion. */
export function runCloak(
  args: string[],
  opts: { env?: Record<string, string>; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return spawnCloak(args, opts).done;
}

/** The agent image `cloak generate` gets in tests (it requires one): pinned, on a port nothing listens on. */
export const TEST_AGENT_IMAGE = `127.0.0.1:1/cloak@sha256:${'0'.repeat(64)}`;

/** Starts the cloak CLI as a process (to signal it, or to act while it runs); `done` resolves when it exits. */
export function spawnCloak(args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
  const proc = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    env: { CLOAK_AGENT_IMAGE: TEST_AGENT_IMAGE, ...process.env, ...opts.env },
    cwd: repoRoot,
  });
  const out = { stdout: '', stderr: '' };
  proc.stdout.on('data', (d) => (out.stdout += d));
  proc.stderr.on('data', (d) => (out.stderr += d));
  const done = new Promise<{ code: number; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      proc.on('error', reject);
      proc.on('close', (code, signal) => resolve({ code: code ?? -1, signal, ...out }));
    },
  );
  // 'exit' comes before 'close' when a child of the CLI (runc) still holds its output open.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  proc.stdin.end(opts.input ?? '');
  return { proc, pid: proc.pid!, out, done, exited };
}

export interface CloakServer {
  url: string;
  data: string;
  token: string;
  proc: ChildProcess;
  /** The server's pino log (stdout) so far; empty unless started with `captureLog`. */
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `cloak serve` as a process on a free loopback port and waits until it listens. */
export async function startCloak(
  opts: { data?: string; args?: string[]; captureLog?: boolean } = {},
): Promise<CloakServer> {
  const data = opts.data ?? mkdtempSync(join(tmpdir(), 'cloak-e2e-'));
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      cli,
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--data',
      data,
      '--log-level',
      'warn',
      ...(opts.args ?? []),
    ],
    { cwd: repoRoot, stdio: ['ignore', opts.captureLog ? 'pipe' : 'ignore', 'pipe'] },
  );
  let log = '';
  proc.stdout?.on('data', (d) => (log += d));
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cloak serve did not start:\n${stderr}`)), 30_000);
    proc.stderr!.on('data', (d) => {
      stderr += d;
      const m = /cloak serving on (https?:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cloak serve exited with ${code}:\n${stderr}`));
    });
  });
  proc.removeAllListeners('exit');
  const token = readFileSync(join(data, 'admin-token'), 'utf8').trim();
  return {
    url,
    data,
    token,
    proc,
    log: () => log,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      }),
  };
}

/**
 * A simulated TEE (`cloak sim init` into `dir`/sim) and `cloak serve` trusting
 * its root; `opts.args` are further serve flags. The sim device is read with
 * readSimDevice(join(dir, 'sim')).
 */
export async function startSimCloak(
  dir: string,
  opts: { args?: string[]; captureLog?: boolean } = {},
): Promise<CloakServer> {
  const init = await runCloak(['sim', 'init', '--dir', join(dir, 'sim')]);
  if (init.code !== 0) throw new Error(`cloak sim init failed (${init.code}): ${init.stderr}`);
  return startCloak({
    args: ['--sim-root', join(dir, 'sim', 'root.pem'), ...(opts.args ?? [])],
    captureLog: opts.captureLog,
  });
}

export function tempDir(prefix = 'cloak-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** JSON request to the server. */
export async function http(
  method: string,
  url: string,
  opts: { body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | Buffer | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  } else if (opts.raw !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: body as BodyInit | undefined,
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Stores a resource through the admin API (`value` as text or bytes); throws unless the server took it. */
export async function setResource(
  server: Pick<CloakServer, 'url' | 'token'>,
  path: string,
  value: string | Buffer,
): Promise<void> {
  const r = await http('PUT', `${server.url}/api/v1/resources/${path}`, {
    body: { value: Buffer.from(value).toString('base64') },
    headers: { authorization: `Bearer ${server.token}` },
  });
  if (r.status !== 204) throw new Error(`setting resource ${path} failed: ${r.status} ${r.text}`);
}

/** Sets the development attestation policy README tells `cloak run` users to set: the default, admitting sim (and only sim). */
export async function allowSim(server: Pick<CloakServer, 'url' | 'token'>): Promise<void> {
  const r = await http('PUT', `${server.url}/api/v1/policies/attestation`, {
    body: { text: INSECURE_DEV_ATTESTATION_POLICY },
    headers: { authorization: `Bearer ${server.token}` },
  });
  if (r.status >= 300) throw new Error(`setting the development attestation policy failed: ${r.status} ${r.text}`);
}

/**
 * Sends only the headers of a request announcing `size` bytes of JSON and
 * waits for the answer without sending the body: the server must answer on
 * the headers alone (a refused token, a declared length over the limit).
 * (Sending the body raced the server's close: a reset could lose the reply
 * and leave the request hanging.) Fails after 10 s without an answer.
 */
export function sendHeadersOnly(method: string, url: string, size: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer to ${method} ${url} before its body was sent`));
    }, 10_000);
    const req = request(
      url,
      { method, headers: { 'content-type': 'application/json', 'content-length': size } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          clearTimeout(timer);
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        });
      },
    );
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.flushHeaders();
  });
}
