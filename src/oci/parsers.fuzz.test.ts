import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCloakError } from '../lib/index.ts';
import { parseManifest, parseImageConfig, parseDescriptor, selectPlatform } from './manifest.ts';
import { parseDockerArchiveManifest } from './docker-archive.ts';
import { parseDockerReference } from './registry.ts';
import { parseImageRef } from './image-ref.ts';
import { parsePlatform } from './platform.ts';
import { OciLayout } from './layout.ts';
import { seededRandom } from '../lib/testing/mutator.ts';

const d = (n: number) => 'sha256:' + n.toString(16).padStart(64, '0');
const GOOD: Record<string, string> = {
  manifest: JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d(1), size: 10 },
    layers: [
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip+encrypted',
        digest: d(2),
        size: 5,
        annotations: { 'org.opencontainers.image.enc.pubopts': 'e30=' },
      },
    ],
  }),
  index: JSON.stringify({
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: d(3),
        size: 7,
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: d(4),
        size: 7,
        platform: { os: 'linux', architecture: 'amd64' },
      },
    ],
  }),
  config: JSON.stringify({
    os: 'linux',
    architecture: 'amd64',
    config: { Cmd: ['/bin/sh'], Env: ['A=b'], User: 'app' },
    rootfs: { type: 'layers', diff_ids: [d(5)] },
  }),
  archive: JSON.stringify([{ Config: 'abc.json', RepoTags: ['app:v1'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }]),
};

/** Structural mutations (JSON-ish punctuation, numbers, nulls) plus truncations and raw byte flips. */
function mutate(text: string, rand: (n: number) => number): string {
  const tokens = [
    '{',
    '}',
    '[',
    ']',
    ':',
    ',',
    '"',
    'null',
    '-1',
    '1e400',
    '0.5',
    'true',
    '"x"',
    '{}',
    '[]',
    '"sha256:"',
    '\u0000',
  ];
  const chars = text.split('');
  const k = 1 + rand(4);
  for (let i = 0; i < k; i++) {
    const at = rand(chars.length + 1);
    switch (rand(4)) {
      case 0:
        chars.splice(at, rand(6), tokens[rand(tokens.length)]!);
        break;
      case 1:
        chars.splice(at, 1 + rand(20));
        break;
      case 2:
        chars[at % chars.length] = String.fromCharCode(rand(256));
        break;
      default:
        chars.length = at;
        break;
    }
  }
  return chars.join('');
}

const onlyCloakErrors = (f: () => unknown, input: string) => {
  try {
    f();
  } catch (e) {
    assert.ok(isCloakError(e), `${String(e)} on ${JSON.stringify(input.slice(0, 200))}`);
  }
};

test('fuzz: manifest, index, config, descriptor and docker-archive parsers throw only CloakError (seeded, 20k inputs)', () => {
  const rand = seededRandom(20261129);
  for (const [name, good] of Object.entries(GOOD)) {
    assert.doesNotThrow(
      () =>
        name === 'archive'
          ? parseDockerArchiveManifest(good)
          : name === 'config'
            ? parseImageConfig(good)
            : parseManifest(good),
      name,
    );
  }
  const idx = parseManifest(GOOD.index!);
  assert.equal(
    idx.kind === 'index' && selectPlatform(idx.manifests, { os: 'linux', architecture: 'amd64' }).digest,
    d(4),
  );
  for (let i = 0; i < 5000; i++) {
    for (const good of Object.values(GOOD)) {
      const input = mutate(good, rand);
      onlyCloakErrors(() => parseManifest(input), input);
      onlyCloakErrors(() => parseImageConfig(input), input);
      onlyCloakErrors(() => parseDockerArchiveManifest(input), input);
      onlyCloakErrors(() => {
        let v: unknown;
        try {
          v = JSON.parse(input);
        } catch {
          return;
        }
        parseDescriptor(v);
      }, input);
      onlyCloakErrors(() => {
        const p = parseManifest(input);
        if (p.kind === 'index') selectPlatform(p.manifests, { os: 'linux', architecture: 'amd64' });
      }, input);
    }
  }
});

test('fuzz: a layout with a mutated index.json or manifest blob only fails with CloakError', () => {
  const rand = seededRandom(7);
  const dir = mkdtempSync(join(tmpdir(), 'cloak-fuzz-layout-'));
  try {
    const layout = OciLayout.create(dir);
    const config = layout.writeJson('application/vnd.oci.image.config.v1+json', JSON.parse(GOOD.config!));
    const good = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [] };
    layout.tag('v1', good as never);
    const index = JSON.stringify(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')));
    for (let i = 0; i < 1500; i++) {
      const mutatedIndex = mutate(index, rand);
      writeFileSync(join(dir, 'index.json'), mutatedIndex);
      onlyCloakErrors(() => layout.resolve('v1'), mutatedIndex);
      onlyCloakErrors(() => layout.resolve(), mutatedIndex);
      // A mutated manifest stored under its own digest (so it passes the digest check and reaches the parser).
      const body = Buffer.from(mutate(JSON.stringify(good), rand));
      writeFileSync(join(dir, 'index.json'), index);
      layout.tagBytes('m', body, 'application/vnd.oci.image.manifest.v1+json');
      onlyCloakErrors(() => layout.resolve('m'), body.toString());
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz: image references (oci:, docker://, docker-archive:) and --platform only fail with CloakError', () => {
  const rand = seededRandom(99);
  const refs = [
    'oci:/tmp/app:v1',
    'docker://127.0.0.1:5000/team/app:v1',
    `docker://reg.example/app@${d(9)}`,
    'docker-archive:/tmp/a.tar:app:v1',
    'docker://docker.io/busybox',
  ];
  for (let i = 0; i < 5000; i++) {
    const input = mutate(refs[rand(refs.length)]!, rand);
    onlyCloakErrors(() => parseImageRef(input), input);
    onlyCloakErrors(() => {
      if (input.startsWith('docker://')) parseDockerReference(input);
    }, input);
    onlyCloakErrors(() => parsePlatform(mutate('linux/arm64/v8', rand)), input);
  }
  assert.deepEqual(parseDockerReference('docker://docker.io/busybox'), {
    registry: 'registry-1.docker.io',
    repository: 'library/busybox',
    tag: 'latest',
    digest: undefined,
  });
});
