import { Transform, type TransformCallback } from 'node:stream';

/**
 * A per-chunk transformation of a blob (a layer cipher). The same step runs
 * in `OciLayout.writeBlobThrough`'s read-process-write loop and, wrapped by
 * `stepStream`, in stream pipelines.
 */
export interface BlobStep {
  /** The output for `chunk`, a new buffer (the caller may reuse `chunk`'s memory right after). */
  update(chunk: Buffer): Buffer;
  /** A promise when the step needs time to catch up (digest workers behind), else undefined. */
  drained(): Promise<void> | undefined;
  /** The last output, once the step's own checks have passed (rejects otherwise). */
  final(): Promise<Buffer>;
  /** Drops unfinished work: the blob failed. */
  abandon(): void;
}

/** Default buffering between stream stages: with Node's 16 KiB default, reading, ciphering and writing barely overlap. */
export const STAGE_BUFFER = 8 * 1024 * 1024;

export function stepStream(step: BlobStep): Transform {
  return new Transform({
    highWaterMark: STAGE_BUFFER,
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      let out: Buffer;
      try {
        out = step.update(chunk);
      } catch (e) {
        return cb(e as Error);
      }
      const wait = step.drained();
      if (wait) wait.then(() => cb(null, out), cb);
      else cb(null, out);
    },
    flush(cb: TransformCallback) {
      step.final().then((out) => cb(null, out), cb);
    },
    destroy(err, cb) {
      step.abandon();
      cb(err);
    },
  });
}
