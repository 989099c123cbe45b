import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { CloakError } from '../lib/index.ts';
import { OciLayout, parseOciReference, REF_NAME, type Descriptor } from './layout.ts';
import { parseDescriptor } from './manifest.ts';
import { parseDockerReference, type RegistryOptions, type RegistryRef } from './registry.ts';
import { pullToLayout, pushFromLayout } from './transfer.ts';
import type { Platform } from './manifest.ts';
import { importDockerArchive, parseDockerArchiveReference } from './docker-archive.ts';

/** skopeo's transport syntax: `oci:DIR[:TAG]` or `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`. */
export type ImageRef =
  | { kind: 'oci'; dir: string; tag?: string; text: string }
  | { kind: 'docker'; ref: RegistryRef; text: string }
  | { kind: 'docker-archive'; file: string; ref?: string; text: string };

export function parseImageRef(text: string): ImageRef {
  if (text.startsWith('oci:')) return { kind: 'oci', ...parseOciReference(text), text };
  if (text.startsWith('docker://')) return { kind: 'docker', ref: parseDockerReference(text), text };
  if (text.startsWith('docker-archive:')) return { kind: 'docker-archive', ...parseDockerArchiveReference(text), text };
  throw new CloakError(
    'OCI_REFERENCE_INVALID',
    `"${text}" names no transport: use oci:DIR[:TAG] or docker://HOST/REPO[:TAG]`,
  );
}

export interface TransferOptions extends RegistryOptions {
  platform?: Platform;
  onBlob?: (d: Descriptor) => void;
}

/** The image as a local OCI layout (pulled into a temp dir for docker://); call cleanup() when done. */
export async function openImage(
  ref: ImageRef,
  opts: TransferOptions = {},
): Promise<{ layout: OciLayout; tag?: string; cleanup(): void }> {
  if (ref.kind === 'oci') return { layout: OciLayout.open(ref.dir, opts.platform), tag: ref.tag, cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'cloak-pull-'));
  try {
    if (ref.kind === 'docker-archive') await importDockerArchive(ref.file, ref.ref, OciLayout.create(dir), 'pulled');
    else await pullToLayout(ref.ref, OciLayout.create(dir), 'pulled', opts);
    return { layout: OciLayout.open(dir), tag: 'pulled', cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Where to write an image: the OCI layout itself, or a temp layout pushed to the registry by commit(). */
export function imageTarget(
  ref: ImageRef,
  opts: TransferOptions & { mountFrom?: string } = {},
): {
  layout: OciLayout;
  tag: string;
  onBlob(f: (d: Descriptor, how: string) => void): void;
  commit(): Promise<string | undefined>;
  cleanup(): void;
} {
  if (ref.kind === 'docker-archive')
    throw new CloakError(
      'OCI_TRANSPORT_UNSUPPORTED',
      'docker-archive: is supported as a source only; write to oci:DIR:TAG or docker://',
    );
  if (ref.kind === 'oci') {
    if (!ref.tag) throw new CloakError('USAGE_DST', 'the destination needs a tag: oci:DIR:TAG');
    // Staged beside the destination (same filesystem) and moved in by commit(): a failure leaves the destination as it was.
    const final = resolve(ref.dir);
    mkdirSync(dirname(final), { recursive: true });
    const staging = mkdtempSync(`${final}.cloak-staging-`);
    const layout = OciLayout.create(staging);
    const tag = ref.tag;
    return {
      layout,
      tag,
      onBlob: () => {},
      commit: async () => {
        commitStaged(layout, tag, final);
        return undefined;
      },
      cleanup: () => rmSync(staging, { recursive: true, force: true }),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'cloak-push-'));
  const layout = OciLayout.create(dir);
  let onBlob: ((d: Descriptor, how: string) => void) | undefined;
  return {
    layout,
    tag: 'out',
    onBlob: (f) => {
      onBlob = f;
    },
    commit: () => pushFromLayout(layout, 'out', ref.ref, { ...opts, onBlob }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Moves a staged layout's image into `final`: the whole directory when it is new, else its missing blobs, then the tag. */
function commitStaged(staged: OciLayout, tag: string, final: string): void {
  if (!existsSync(final)) {
    renameSync(staged.dir, final);
    return;
  }
  const target = existsSync(join(final, 'oci-layout')) ? OciLayout.open(final) : OciLayout.create(final);
  const index = JSON.parse(readFileSync(join(staged.dir, 'index.json'), 'utf8')) as { manifests: unknown[] };
  const d = index.manifests.map((m) => parseDescriptor(m)).find((m) => m.annotations?.[REF_NAME] === tag);
  if (!d) throw new CloakError('OCI_TAG_UNKNOWN', `staged image has no tag ${tag}`);
  for (const name of readdirSync(join(staged.dir, 'blobs', 'sha256'))) {
    const to = target.blobPath(`sha256:${name}`);
    if (!existsSync(to)) renameSync(join(staged.dir, 'blobs', 'sha256', name), to);
  }
  target.tagBytes(tag, target.readBytes(d), d.mediaType);
}
