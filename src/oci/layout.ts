import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Transform, pipeline as pipelineCb, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { open, type FileHandle } from 'node:fs/promises';
import { CloakError, drainedAll, OffloadedHash } from '../lib/index.ts';
import { STAGE_BUFFER, type BlobStep } from './blob-step.ts';
import { parseDescriptor, parseImageConfig, parseManifest, selectPlatform, type Platform } from './manifest.ts';
import { hostPlatform } from './platform.ts';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}
export interface ImageConfig {
  created?: string;
  architecture?: string;
  os?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
    Labels?: Record<string, string>;
  };
  rootfs?: { type: string; diff_ids: string[] };
}

export const MT_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MT_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const REF_NAME = 'org.opencontainers.image.ref.name';
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const MAX_JSON = 4 * 1024 * 1024;
/** Read size of `openBlob`: Node's 64 KiB default makes the per-chunk stream costs dominate on large blobs. */
const READ_CHUNK = 256 * 1024;
/** Read size of `writeBlobThrough`'s loop (each iteration waits on a read and a write, so not too small). */
const STEP_CHUNK = 1024 * 1024;
/** The cipher is fed slices of this size: its output buffers then come from the allocator's reused memory instead of fresh pages. */
const CIPHER_SLICE = 64 * 1024;

/** Chains streams so that an error anywhere reaches the last one (unlike .pipe()). */
export function chain(first: Readable, ...rest: Transform[]): Readable {
  return (pipelineCb as (...s: unknown[]) => Readable)(first, ...rest, () => {
    /* errors surface on the returned stream */
  });
}

async function writeAll(fh: FileHandle, bs: Buffer[]): Promise<void> {
  const total = bs.reduce((n, b) => n + b.length, 0);
  const { bytesWritten } = await fh.writev(bs);
  if (bytesWritten === total) return;
  const all = Buffer.concat(bs);
  for (let off = bytesWritten; off < total;) off += (await fh.write(all, off, total - off)).bytesWritten;
}

/** Hashes a chunk and passes it on, waiting while the digest worker is behind. */
function feed(h: OffloadedHash, chunk: Buffer, cb: TransformCallback): void {
  try {
    if (!h.update(chunk)) return void h.drained().then(() => cb(null, chunk), cb);
  } catch (e) {
    return cb(e as Error);
  }
  cb(null, chunk);
}

/**
 * A stream that passes bytes through and fails at the end unless they had
 * `digest` and `size` (hashed on a worker thread). `count` sees each chunk's
 * length first (and may throw to stop the stream); `mismatch` makes the
 * error for a wrong digest.
 */
export function verifyingStream(
  digest: string,
  size?: number,
  opts: { count?: (n: number) => void; mismatch?: (actual: string) => CloakError } = {},
): Transform {
  const h = new OffloadedHash();
  let n = 0;
  return new Transform({
    highWaterMark: STAGE_BUFFER,
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      n += chunk.length;
      try {
        opts.count?.(chunk.length);
      } catch (e) {
        return cb(e as Error);
      }
      feed(h, chunk, cb);
    },
    destroy(err, cb) {
      h.abandon();
      cb(err);
    },
    flush(cb: TransformCallback) {
      h.hex().then((hex) => {
        const actual = 'sha256:' + hex;
        if (actual !== digest && opts.mismatch) return cb(opts.mismatch(actual));
        if (actual !== digest || (size !== undefined && n !== size))
          return cb(new CloakError('OCI_DIGEST_MISMATCH', `blob ${digest} does not match its digest or size`));
        cb();
      }, cb);
    },
  });
}

/** An OCI image layout directory (`oci:DIR:TAG`): blobs by digest, index.json naming tags. */
export class OciLayout {
  /** `platform` picks the image of a multi-platform index (default: this machine's). */
  constructor(
    readonly dir: string,
    readonly platform?: Platform,
  ) {}

  static create(dir: string): OciLayout {
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    if (!existsSync(join(dir, 'oci-layout')))
      writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    if (!existsSync(join(dir, 'index.json')))
      writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
    return new OciLayout(dir);
  }

  static open(dir: string, platform?: Platform): OciLayout {
    let v: unknown;
    try {
      v = JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8')).imageLayoutVersion;
    } catch {
      throw new CloakError('OCI_LAYOUT_INVALID', `${dir} is not an OCI image layout (no oci-layout file)`);
    }
    if (v !== '1.0.0')
      throw new CloakError('OCI_LAYOUT_INVALID', `${dir}: unsupported imageLayoutVersion ${String(v)}`);
    return new OciLayout(dir, platform);
  }

  blobPath(digest: string): string {
    if (!DIGEST.test(digest))
      throw new CloakError('OCI_DIGEST_INVALID', `unsupported digest "${String(digest).slice(0, 80)}" (sha256 only)`);
    return join(this.dir, 'blobs', 'sha256', digest.slice(7));
  }

  hasBlob(d: Descriptor): boolean {
    return statSync(this.blobPath(d.digest), { throwIfNoEntry: false })?.size === d.size;
  }

  readBytes(d: Descriptor): Buffer {
    if (!(d.size <= MAX_JSON))
      throw new CloakError('OCI_BLOB_TOO_LARGE', `${d.mediaType} of ${d.size} bytes is larger than a manifest may be`);
    let buf: Buffer;
    try {
      buf = readFileSync(this.blobPath(d.digest));
    } catch (e) {
      if (e instanceof CloakError) throw e;
      throw new CloakError('OCI_BLOB_MISSING', `blob ${d.digest} is missing from ${this.dir}`);
    }
    if ('sha256:' + createHash('sha256').update(buf).digest('hex') !== d.digest || buf.length !== d.size)
      throw new CloakError('OCI_DIGEST_MISMATCH', `blob ${d.digest} does not match its digest or size`);
    return buf;
  }

  readJson<T>(d: Descriptor): T {
    const buf = this.readBytes(d);
    try {
      return JSON.parse(buf.toString('utf8')) as T;
    } catch {
      throw new CloakError('OCI_JSON_INVALID', `blob ${d.digest} is not JSON`);
    }
  }

  /** Opens a blob, verified against its digest and size as it streams. */
  openBlob(d: Descriptor): Readable {
    const path = this.blobPath(d.digest);
    if (statSync(path, { throwIfNoEntry: false })?.size !== d.size)
      throw new CloakError('OCI_BLOB_MISSING', `blob ${d.digest} is missing or has the wrong size`);
    return chain(createReadStream(path, { highWaterMark: READ_CHUNK }), verifyingStream(d.digest, d.size));
  }

  writeJson(mediaType: string, value: unknown): Descriptor {
    const buf = Buffer.from(JSON.stringify(value));
    const digest = 'sha256:' + createHash('sha256').update(buf).digest('hex');
    const path = this.blobPath(digest);
    if (!existsSync(path)) {
      writeFileSync(path + '.tmp', buf);
      renameSync(path + '.tmp', path);
    }
    return { mediaType, digest, size: buf.length };
  }

  /**
   * Streams a blob in; it lands under its digest only when complete.
   * `verified` is the digest the source is already checked against (its
   * stream fails otherwise), sparing a second pass over the bytes; it may
   * be a promise that settles once the source has ended.
   */
  async writeBlob(source: Readable, verified?: string | Promise<string>): Promise<{ digest: string; size: number }> {
    const tmp = join(this.dir, 'blobs', `.tmp-${randomBytes(8).toString('hex')}`);
    const h = verified === undefined ? new OffloadedHash() : undefined;
    let size = 0;
    try {
      await pipeline(
        source,
        new Transform({
          highWaterMark: STAGE_BUFFER,
          transform(c: Buffer, _e, cb) {
            size += c.length;
            if (h) feed(h, c, cb);
            else cb(null, c);
          },
        }),
        createWriteStream(tmp, { flags: 'wx', highWaterMark: STAGE_BUFFER }),
      );
      const digest = h ? 'sha256:' + (await h.hex()) : await verified!;
      renameSync(tmp, this.blobPath(digest));
      return { digest, size };
    } catch (e) {
      h?.abandon();
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Reads blob `d` from `src` through `step` (a layer cipher) into this
   * layout, in one loop: reused read buffers, the next read and the last
   * write in flight while a chunk is processed, digests on worker threads.
   * The input is checked against `d` and the step's own checks must pass
   * before the blob lands; otherwise nothing is left behind. `verified` as
   * for `writeBlob`.
   */
  async writeBlobThrough(
    src: OciLayout,
    d: Descriptor,
    step: BlobStep,
    verified?: string | Promise<string>,
  ): Promise<{ digest: string; size: number }> {
    const path = src.blobPath(d.digest);
    if (statSync(path, { throwIfNoEntry: false })?.size !== d.size)
      throw new CloakError('OCI_BLOB_MISSING', `blob ${d.digest} is missing or has the wrong size`);
    const tmp = join(this.dir, 'blobs', `.tmp-${randomBytes(8).toString('hex')}`);
    const input = new OffloadedHash();
    const output = verified === undefined ? new OffloadedHash() : undefined;
    let inFh: FileHandle | undefined;
    let outFh: FileHandle | undefined;
    let writing: Promise<unknown> = Promise.resolve();
    let reading: Promise<{ bytesRead: number }> | undefined;
    try {
      inFh = await open(path, 'r');
      outFh = await open(tmp, 'wx');
      const out = outFh;
      let size = 0;
      const write = (bs: Buffer[]) => {
        for (const b of bs) {
          output?.update(b);
          size += b.length;
        }
        const prev = writing;
        writing = prev.then(() => writeAll(out, bs));
        return prev;
      };
      const bufs = [Buffer.allocUnsafeSlow(STEP_CHUNK), Buffer.allocUnsafeSlow(STEP_CHUNK)];
      let pos = 0;
      reading = inFh.read(bufs[0]!, 0, STEP_CHUNK, 0);
      for (let i = 0; ; i ^= 1) {
        const { bytesRead } = await reading;
        if (bytesRead === 0) break;
        const chunk = bufs[i]!.subarray(0, bytesRead);
        pos += bytesRead;
        if (pos > d.size) break;
        reading = inFh.read(bufs[i ^ 1]!, 0, STEP_CHUNK, pos);
        input.update(chunk);
        const outs: Buffer[] = [];
        for (let off = 0; off < chunk.length; off += CIPHER_SLICE)
          outs.push(step.update(chunk.subarray(off, off + CIPHER_SLICE)));
        await write(outs); // at most one write queued behind the one in flight
        await step.drained();
        await drainedAll([input, output]);
      }
      if (pos !== d.size || 'sha256:' + (await input.hex()) !== d.digest)
        throw new CloakError('OCI_DIGEST_MISMATCH', `blob ${d.digest} does not match its digest or size`);
      await write([await step.final()]);
      await writing;
      await outFh.close();
      outFh = undefined;
      const digest = output ? 'sha256:' + (await output.hex()) : await verified!;
      renameSync(tmp, this.blobPath(digest));
      return { digest, size };
    } catch (e) {
      input.abandon();
      output?.abandon();
      step.abandon();
      await Promise.all([writing, reading].map((p) => p?.catch(() => undefined)));
      await outFh?.close().catch(() => undefined);
      rmSync(tmp, { force: true });
      throw e;
    } finally {
      await inFh?.close().catch(() => undefined);
    }
  }

  /** The manifest of `tag` (or the only image when no tag is given); an index is resolved by platform. */
  resolve(tag?: string): { descriptor: Descriptor; manifest: ImageManifest; config: ImageConfig } {
    let index: unknown;
    try {
      index = JSON.parse(readFileSync(join(this.dir, 'index.json'), 'utf8'));
    } catch {
      throw new CloakError('OCI_LAYOUT_INVALID', `${this.dir}/index.json is missing or not JSON`);
    }
    const list = (index as { manifests?: unknown })?.manifests;
    if (!Array.isArray(list))
      throw new CloakError('OCI_LAYOUT_INVALID', `${this.dir}/index.json has no manifests list`);
    const all = list.map((m, i) => parseDescriptor(m, `index.json manifests[${i}]`));
    const matches = tag ? all.filter((m) => m.annotations?.[REF_NAME] === tag) : all;
    if (matches.length !== 1)
      throw new CloakError(
        'OCI_TAG_UNKNOWN',
        tag
          ? `no image tagged "${tag}" in ${this.dir}`
          : `${this.dir} holds ${all.length} images: name one with oci:DIR:TAG`,
      );
    let descriptor = matches[0]!;
    let parsed = parseManifest(this.readBytes(descriptor), `manifest ${descriptor.digest}`);
    if (parsed.kind === 'index') {
      descriptor = selectPlatform(parsed.manifests, this.platform ?? hostPlatform());
      parsed = parseManifest(this.readBytes(descriptor), `manifest ${descriptor.digest}`);
      if (parsed.kind === 'index')
        throw new CloakError('OCI_MANIFEST_INVALID', 'an index inside an index is not supported');
    }
    const manifest = parsed.manifest;
    return {
      descriptor,
      manifest,
      config: parseImageConfig(this.readBytes(manifest.config), `config ${manifest.config.digest}`),
    };
  }

  /** Records `manifest` under `tag` (replacing an older image of that tag). */
  tag(tag: string, manifest: ImageManifest): Descriptor {
    return this.tagBytes(tag, Buffer.from(JSON.stringify(manifest)), manifest.mediaType ?? MT_MANIFEST);
  }

  /** Records manifest bytes exactly as given (so a pulled image keeps its digest) under `tag`. */
  tagBytes(tag: string, body: Buffer, mediaType: string): Descriptor {
    const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
    const path = this.blobPath(digest);
    if (!existsSync(path)) {
      writeFileSync(path + '.tmp', body);
      renameSync(path + '.tmp', path);
    }
    const d = { mediaType, digest, size: body.length, annotations: { [REF_NAME]: tag } };
    const indexPath = join(this.dir, 'index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { schemaVersion: 2; manifests: Descriptor[] };
    index.manifests = [...index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag), d];
    writeFileSync(indexPath + '.tmp', JSON.stringify(index));
    renameSync(indexPath + '.tmp', indexPath);
    return d;
  }
}

/** `oci:DIR[:TAG]` → dir and tag. */
export function parseOciReference(ref: string): { dir: string; tag?: string } {
  const m = /^oci:([^:]+)(?::([A-Za-z0-9_.-]{1,128}))?$/.exec(ref);
  if (!m) throw new CloakError('OCI_REFERENCE_INVALID', `"${ref}" is not oci:DIR[:TAG]`);
  return { dir: m[1]!, tag: m[2] };
}
