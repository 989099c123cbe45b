import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';

/** A one-layer rootfs built here from Debian's busybox-static: /bin/busybox plus applet links and /etc/passwd; `extra` entries (files, or symlinks with `linkname`) come last. */
export async function busyboxLayerTar(
  extra: Array<{ name: string; body?: string; linkname?: string }> = [],
): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  const add = (h: Partial<tar.Header> & { name: string }, body?: Buffer | string) =>
    new Promise<void>((res, rej) => pack.entry(h as tar.Header, body ?? '', (e) => (e ? rej(e) : res())));
  await add({ name: 'bin/', type: 'directory', mode: 0o755 });
  await add({ name: 'etc/', type: 'directory', mode: 0o755 });
  await add({ name: 'bin/busybox', mode: 0o755 }, readFileSync('/bin/busybox'));
  for (const a of ['sh', 'cat', 'echo', 'id', 'ls', 'sleep', 'true'])
    await add({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' });
  await add({ name: 'etc/passwd', mode: 0o644 }, 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/:/bin/sh\n');
  await add({ name: 'etc/group', mode: 0o644 }, 'root:x:0:\napp:x:1000:\n');
  for (const e of extra)
    await add(
      e.linkname === undefined
        ? { name: e.name, mode: 0o644 }
        : { name: e.name, type: 'symlink', linkname: e.linkname },
      e.body,
    );
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const streamOf = (b: Buffer): Readable => Readable.from([b]);
