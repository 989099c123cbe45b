import { createHash, createHmac } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { CloakError } from './errors.ts';

/**
 * SHA-256 / HMAC-SHA256 computed on worker threads, so that the digest
 * passes over a large blob run on other cores beside its cipher (one core
 * hashes ~1.7 GB/s; a layer needs up to three such passes besides AES).
 *
 * Bytes are batched (copied) into 1 MiB messages. A hash whose input ends
 * before the first batch fills never leaves this thread, so small blobs pay
 * nothing. `update` reports back-pressure: when it returns false, wait for
 * `drained()` before feeding more, so memory stays bounded.
 */

const BATCH = 1 << 20;
const MAX_IN_FLIGHT = 8 * BATCH;
/** Three threads: a layer needs at most three digest passes besides its cipher; the OS spreads them over the cores. */
const POOL_SIZE = 3;

// Plain JS, evaluated as the worker's body (works from the tsx sources and from the esbuild bundle alike).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash, createHmac } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  let h = hashes.get(m.id);
  if (!h) { h = m.key ? createHmac('sha256', Buffer.from(m.key)) : createHash('sha256'); hashes.set(m.id, h); }
  if (m.data) h.update(new Uint8Array(m.data, 0, m.length));
  if (m.abandon) { hashes.delete(m.id); return; }
  if (m.end) { hashes.delete(m.id); parentPort.postMessage({ id: m.id, digest: h.digest() }); }
  else parentPort.postMessage({ id: m.id, done: m.length, data: m.data }, [m.data]); // the buffer goes back for reuse
});
`;

interface Pending {
  onDone(bytes: number, buffer: ArrayBuffer): void;
  onDigest(d: Buffer): void;
  onError(e: Error): void;
}
interface PoolWorker {
  worker: Worker;
  active: Map<number, Pending>;
  outstanding: number;
}

/** A worker keeps the process alive only while it owes a reply. */
function send(w: PoolWorker, message: Record<string, unknown>, transfer: ArrayBuffer[] = []): void {
  if (w.outstanding++ === 0) w.worker.ref();
  w.worker.postMessage(message, transfer);
}
function received(w: PoolWorker): void {
  if (--w.outstanding === 0) w.worker.unref();
}

const pool: PoolWorker[] = [];
let nextId = 1;

function failAll(w: PoolWorker, e: Error): void {
  for (const p of w.active.values())
    p.onError(new CloakError('HASH_WORKER_FAILED', `a digest worker failed: ${e.message}`, { cause: e }));
  w.active.clear();
  w.worker.unref();
  if (pool.includes(w)) pool.splice(pool.indexOf(w), 1);
}

function spawn(): PoolWorker {
  const w: PoolWorker = { worker: new Worker(WORKER_SOURCE, { eval: true }), active: new Map(), outstanding: 0 };
  w.worker.on('message', (m: { id: number; done?: number; data?: ArrayBuffer; digest?: Uint8Array }) => {
    received(w);
    const p = w.active.get(m.id);
    if (!p) return;
    if (m.digest) {
      w.active.delete(m.id);
      p.onDigest(Buffer.from(m.digest));
    } else p.onDone(m.done!, m.data!);
  });
  w.worker.on('error', (e) => failAll(w, e));
  w.worker.on('exit', (code) => {
    if (w.active.size) failAll(w, new Error(`exited with code ${code}`));
  });
  w.worker.unref();
  pool.push(w);
  return w;
}

/** The least busy worker, spawning up to POOL_SIZE. */
function pickWorker(): PoolWorker {
  const idle = pool.find((w) => w.active.size === 0);
  if (idle) return idle;
  if (pool.length < POOL_SIZE) return spawn();
  return pool.reduce((a, b) => (b.active.size < a.active.size ? b : a));
}

export class OffloadedHash {
  private batch: Buffer | undefined = Buffer.allocUnsafeSlow(BATCH);
  private filled = 0;
  private worker: PoolWorker | undefined;
  private readonly id = nextId++;
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  private result: Promise<Buffer> | undefined;
  private resolveDigest!: (d: Buffer) => void;
  private rejectDigest!: (e: Error) => void;
  private error: Error | undefined;
  /** 1 MiB buffers back from the worker, for the next batches. */
  private readonly spare: ArrayBuffer[] = [];

  /** `hmacKey` makes it HMAC-SHA256 under that key instead of SHA-256. */
  constructor(private readonly hmacKey?: Uint8Array) {}

  /** Feeds bytes; false means wait for `drained()` before the next call. */
  update(chunk: Uint8Array): boolean {
    if (this.error) throw this.error;
    if (!this.batch) throw new CloakError('HASH_FINISHED', 'update after digest');
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, BATCH - this.filled);
      this.batch.set(chunk.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === BATCH) this.post(false);
    }
    return this.inFlight < MAX_IN_FLIGHT;
  }

  /** True while the worker has more than the allowed backlog of this hash's bytes. */
  behind(): boolean {
    return this.inFlight >= MAX_IN_FLIGHT;
  }

  /** Resolves once the worker has caught up enough to take more. */
  drained(): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    if (this.inFlight < MAX_IN_FLIGHT) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The digest of everything fed. */
  digest(): Promise<Buffer> {
    if (this.result) return this.result;
    if (!this.worker) {
      const h = this.hmacKey ? createHmac('sha256', this.hmacKey) : createHash('sha256');
      const d = h.update(this.batch!.subarray(0, this.filled)).digest();
      this.batch = undefined;
      this.result = Promise.resolve(d);
    } else {
      this.result = new Promise<Buffer>((resolve, reject) => {
        this.resolveDigest = resolve;
        this.rejectDigest = reject;
      });
      if (this.error) this.rejectDigest(this.error);
      else this.post(true);
    }
    return this.result;
  }

  /** Drops an unfinished hash (its stream failed): the worker forgets it. */
  abandon(): void {
    if (this.result || !this.batch) return;
    this.batch = undefined;
    if (this.worker) {
      this.worker.active.delete(this.id);
      this.worker.worker.postMessage({ id: this.id, abandon: true });
    }
  }

  async hex(): Promise<string> {
    return (await this.digest()).toString('hex');
  }

  private post(end: boolean): void {
    const first = !this.worker; // the worker learns the HMAC key with the first batch
    if (!this.worker) {
      this.worker = pickWorker();
      this.worker.active.set(this.id, {
        onDone: (bytes, buffer) => {
          this.inFlight -= bytes;
          if (buffer.byteLength === BATCH) this.spare.push(buffer);
          if (this.inFlight < MAX_IN_FLIGHT) for (const w of this.waiters.splice(0)) w();
        },
        onDigest: (d) => this.resolveDigest(d),
        onError: (e) => {
          this.error = e;
          this.rejectDigest?.(e);
          for (const w of this.waiters.splice(0)) w();
        },
      });
    }
    const data = this.batch!.buffer as ArrayBuffer;
    const key = first && this.hmacKey ? { key: Uint8Array.from(this.hmacKey) } : {};
    this.inFlight += this.filled;
    send(this.worker, { id: this.id, data, length: this.filled, end, ...key }, [data]);
    this.filled = 0;
    // Buffers come back from the worker for reuse: fresh 1 MiB allocations would cost page faults on every batch.
    const spare = this.spare.pop();
    this.batch = end ? undefined : spare ? Buffer.from(spare) : Buffer.allocUnsafeSlow(BATCH);
  }
}

/** Resolves when every hash can take more bytes; undefined when none is behind. */
export function drainedAll(hashes: Array<OffloadedHash | undefined>): Promise<void> | undefined {
  const waits = hashes.filter((h): h is OffloadedHash => h !== undefined && h.behind()).map((h) => h.drained());
  return waits.length ? Promise.all(waits).then(() => undefined) : undefined;
}
