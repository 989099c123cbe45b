import { CloakError } from '../lib/index.ts';
import type { Descriptor, ImageConfig, ImageManifest } from './layout.ts';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A manifest or an index, as read from untrusted bytes (a layout, a registry, an archive). */
export type ParsedManifest = { kind: 'manifest'; manifest: ImageManifest } | { kind: 'index'; manifests: Descriptor[] };

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const MAX_ENTRIES = 10_000;

const bad = (what: string, why: string): never => {
  throw new CloakError('OCI_MANIFEST_INVALID', `${what}: ${why}`);
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(bytes: Uint8Array | string, what: string): unknown {
  try {
    return JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch {
    return bad(what, 'not JSON');
  }
}

function stringMap(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) return bad(what, 'annotations must be an object of strings');
  for (const x of Object.values(v)) if (typeof x !== 'string') bad(what, 'annotation values must be strings');
  return v as Record<string, string>;
}

/** A content descriptor: media type, sha256 digest, non-negative safe-integer size, string annotations. */
export function parseDescriptor(v: unknown, what = 'descriptor'): Descriptor {
  if (!isObject(v)) return bad(what, 'not an object');
  if (typeof v.mediaType !== 'string' || !MEDIA_TYPE.test(v.mediaType))
    bad(what, `media type "${String(v.mediaType).slice(0, 80)}" is invalid`);
  if (typeof v.digest !== 'string' || !DIGEST.test(v.digest))
    bad(what, `digest "${String(v.digest).slice(0, 80)}" is not sha256:<64 hex>`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0)
    bad(what, `size ${String(v.size).slice(0, 40)} is not a non-negative integer`);
  const d: Descriptor = { mediaType: v.mediaType as string, digest: v.digest as string, size: v.size as number };
  const annotations = stringMap(v.annotations, what);
  if (annotations) d.annotations = annotations;
  if (v.platform !== undefined) {
    const p = v.platform;
    if (
      !isObject(p) ||
      typeof p.os !== 'string' ||
      typeof p.architecture !== 'string' ||
      (p.variant !== undefined && typeof p.variant !== 'string')
    )
      bad(what, 'platform must have string os and architecture');
    d.platform = {
      os: (p as Platform).os,
      architecture: (p as Platform).architecture,
      ...((p as Platform).variant ? { variant: (p as Platform).variant } : {}),
    } as Descriptor['platform'];
  }
  return d;
}

function descriptorList(v: unknown, what: string): Descriptor[] {
  if (!Array.isArray(v)) return bad(what, 'must be a list');
  if (v.length > MAX_ENTRIES) bad(what, `more than ${MAX_ENTRIES} entries`);
  return v.map((x, i) => parseDescriptor(x, `${what}[${i}]`));
}

/** An image manifest or index (OCI or Docker schema 2); schema 1 and anything else is refused. */
export function parseManifest(bytes: Uint8Array | string, what = 'manifest'): ParsedManifest {
  const v = parseJson(bytes, what);
  if (!isObject(v)) return bad(what, 'not a JSON object');
  if (v.schemaVersion !== 2)
    bad(what, `schemaVersion ${String(v.schemaVersion).slice(0, 20)} is not 2 (schema 1 images are not supported)`);
  if (v.mediaType !== undefined && typeof v.mediaType !== 'string') bad(what, 'mediaType must be a string');
  if (v.manifests !== undefined) {
    if (v.layers !== undefined) bad(what, 'has both manifests and layers');
    return { kind: 'index', manifests: descriptorList(v.manifests, `${what}.manifests`) };
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    ...(typeof v.mediaType === 'string' ? { mediaType: v.mediaType } : {}),
    config: parseDescriptor(v.config, `${what}.config`),
    layers: descriptorList(v.layers, `${what}.layers`),
  };
  const annotations = stringMap(v.annotations, what);
  if (annotations) manifest.annotations = annotations;
  return { kind: 'manifest', manifest };
}

/** An image config: only the fields Cloak reads are checked, and they must have the right types. */
export function parseImageConfig(bytes: Uint8Array | string, what = 'image config'): ImageConfig {
  const v = parseJson(bytes, what);
  if (!isObject(v)) return bad(what, 'not a JSON object');
  for (const k of ['os', 'architecture'] as const)
    if (v[k] !== undefined && typeof v[k] !== 'string') bad(what, `${k} must be a string`);
  if (v.rootfs !== undefined) {
    const r = v.rootfs;
    if (!isObject(r) || !Array.isArray(r.diff_ids) || !r.diff_ids.every((d) => typeof d === 'string' && DIGEST.test(d)))
      bad(what, 'rootfs.diff_ids must be a list of sha256 digests');
  }
  if (v.config !== undefined && v.config !== null) {
    const c = v.config;
    if (!isObject(c)) return bad(what, 'config must be an object');
    for (const k of ['Entrypoint', 'Cmd', 'Env'])
      if (
        c[k] !== undefined &&
        c[k] !== null &&
        !(Array.isArray(c[k]) && (c[k] as unknown[]).every((x) => typeof x === 'string'))
      )
        bad(what, `config.${k} must be a list of strings`);
    for (const k of ['WorkingDir', 'User'])
      if (c[k] !== undefined && typeof c[k] !== 'string') bad(what, `config.${k} must be a string`);
  }
  return v as ImageConfig;
}

/** The entry of an index for a platform (variant matched only when asked for). */
export function selectPlatform(manifests: Descriptor[], p: Platform): Descriptor {
  const chosen = manifests.find(
    (d) =>
      d.platform?.os === p.os &&
      d.platform?.architecture === p.architecture &&
      (!p.variant || (d.platform as Platform).variant === p.variant),
  );
  if (!chosen)
    throw new CloakError(
      'OCI_PLATFORM_UNAVAILABLE',
      `the image has no ${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''} variant (it has ${manifests.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).join(', ') || 'none'})`,
    );
  return chosen;
}
