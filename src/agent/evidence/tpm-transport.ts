import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { CloakError } from '../../lib/index.ts';

/** Sends one TPM 2.0 command and returns its response bytes. */
export interface TpmTransport {
  transmit(command: Buffer): Promise<Buffer>;
  close(): void;
}

/** TPM 2.0 responses are at most this long (MAX_RESPONSE_SIZE on every TPM we know: 4096). */
export const MAX_RESPONSE = 8192;
export const DEFAULT_TPM_DEVICE = '/dev/tpmrm0';

/** The kernel's TPM resource manager: one write of a command, one read of its response. */
export function openTpmDevice(path = DEFAULT_TPM_DEVICE): TpmTransport {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CloakError(
      'AGENT_NO_TPM',
      code === 'ENOENT'
        ? `no TPM at ${path}: this machine has no (v)TPM, or the tpm_tis/tpm_crb driver is not loaded`
        : `cannot open the TPM at ${path} (${code}): run as a user in the "tss" group or as root`,
      { cause: e },
    );
  }
  return {
    async transmit(command: Buffer): Promise<Buffer> {
      writeSync(fd, command);
      const buf = Buffer.alloc(MAX_RESPONSE);
      const n = readSync(fd, buf, 0, buf.length, null);
      return buf.subarray(0, n);
    },
    close() {
      closeSync(fd);
    },
  };
}

/** A TCP TPM speaking raw TPM 2.0 commands (swtpm `--server type=tcp`); binds nothing, connects to `host:port`. */
export async function connectTcpTpm(host: string, port: number, timeoutMs = 10_000): Promise<TpmTransport> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.once('connect', () => resolve(s));
    s.once('error', (e) =>
      reject(
        new CloakError(
          'AGENT_NO_TPM',
          `no TPM listening at ${host}:${port} (${(e as NodeJS.ErrnoException).code ?? e.message})`,
          { cause: e },
        ),
      ),
    );
  });
  let pending: Buffer = Buffer.alloc(0);
  let waiter: { resolve: (b: Buffer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  const settle = () => {
    if (!waiter || pending.length < 6) return;
    const size = pending.readUInt32BE(2);
    if (size < 10 || size > MAX_RESPONSE) {
      const w = waiter;
      waiter = undefined;
      clearTimeout(w.timer);
      w.reject(new CloakError('AGENT_TPM_RESPONSE', `TPM response claims ${size} bytes`));
      return;
    }
    if (pending.length < size) return;
    const out = pending.subarray(0, size);
    pending = pending.subarray(size);
    const w = waiter;
    waiter = undefined;
    clearTimeout(w.timer);
    w.resolve(Buffer.from(out));
  };
  socket.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    if (pending.length > 2 * MAX_RESPONSE) socket.destroy();
    settle();
  });
  const failAll = (why: string) => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      clearTimeout(w.timer);
      w.reject(new CloakError('AGENT_TPM_IO', why));
    }
  };
  socket.on('error', (e) => failAll(`TPM connection failed: ${e.message}`));
  socket.on('close', () => failAll('the TPM closed the connection'));
  return {
    transmit(command: Buffer): Promise<Buffer> {
      if (waiter) return Promise.reject(new CloakError('AGENT_TPM_IO', 'one TPM command at a time'));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => failAll(`the TPM did not answer within ${timeoutMs} ms`), timeoutMs);
        waiter = { resolve, reject, timer };
        socket.write(command);
      });
    },
    close() {
      socket.end();
      socket.destroy();
    },
  };
}
