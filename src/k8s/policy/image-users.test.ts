import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { imageGroupsOf, readImageUsers, resolveImageUser } from './image-users.ts';

async function layer(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
const gz = (b: Buffer) => ({
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  open: async () => Readable.from([gzipSync(b)]),
});

const ALPINE_PASSWD =
  'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\napp:x:1000:1001::/home/app:/bin/sh\n';
const ALPINE_GROUP = 'root:x:0:root\nbin:x:1:root,bin,daemon\nwheel:x:10:root\napps:x:1001:\nvideo:x:27:root,app\n';

test('/etc/passwd and /etc/group come from the last layer that has them; whiteouts remove them; encrypted layers are unreadable', async () => {
  const users = await readImageUsers([
    gz(await layer({ 'etc/passwd': 'old', './etc/group': ALPINE_GROUP, 'bin/sh': 'x' })),
    gz(await layer({ 'etc/passwd': ALPINE_PASSWD })),
  ]);
  assert.deepEqual(users, { passwd: ALPINE_PASSWD, group: ALPINE_GROUP });
  assert.deepEqual(
    await readImageUsers([gz(await layer({ 'etc/passwd': ALPINE_PASSWD })), gz(await layer({ 'etc/.wh.passwd': '' }))]),
    {},
  );
  assert.equal(
    await readImageUsers([
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip+encrypted', open: async () => Readable.from([]) },
    ]),
    undefined,
  );
  await assert.rejects(readImageUsers([gz(await layer({ '../etc/passwd': 'x' }))]), /OCI_LAYER_PATH_ESCAPE|climbs out/);
});

test('the image user resolves as containerd resolves it, and the groups it adds', () => {
  const users = { passwd: ALPINE_PASSWD, group: ALPINE_GROUP };
  const table: Array<[string | undefined, { uid: number; gid: number }]> = [
    [undefined, { uid: 0, gid: 0 }],
    ['app', { uid: 1000, gid: 1001 }],
    ['1000', { uid: 1000, gid: 1001 }],
    ['4242', { uid: 4242, gid: 0 }],
    ['app:27', { uid: 1000, gid: 27 }],
    ['app:wheel', { uid: 1000, gid: 10 }],
    ['65534:65534', { uid: 65534, gid: 65534 }],
  ];
  for (const [user, want] of table) assert.deepEqual(resolveImageUser(user, users, 'test'), want, String(user));
  assert.throws(() => resolveImageUser('ghost', users, 'test'), /K8S_POLICY_USER|runAsUser/);
  assert.throws(() => resolveImageUser('app', undefined, 'test'), /runAsUser/);
  assert.throws(() => resolveImageUser('app:nogroup', users, 'test'), /runAsGroup/);
  assert.deepEqual(imageGroupsOf(0, users), [0, 1, 10, 27]);
  assert.deepEqual(imageGroupsOf(1000, users), [27]);
  assert.deepEqual(imageGroupsOf(4242, users), []);
});
