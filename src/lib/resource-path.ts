import { CloakError } from './errors.ts';

/**
 * A KBS resource path, `<repository>/<type>/<tag>` (the CoCo KBS protocol's
 * `/kbs/v0/resource/<repo>/<type>/<tag>`), and its `kbs:///` URI form that
 * ocicrypt's attestation-agent key ids and CoCo's image-rs use. One syntax for
 * the broker, the manifest, the init-data, the agent and the image layers: it
 * lives in lib because src/oci may import nothing else (src/manifest re-exports it).
 */
export type ResourcePath = string;

const SEGMENT = '[A-Za-z0-9._-]{1,128}';
/** A segment: what CoCo accepts for repository, type and tag (never `.` or `..`). */
export const RESOURCE_SEGMENT = new RegExp(`^${SEGMENT}$`);
/** The same rule for a whole path, as a JSON Schema pattern (the `.`/`..` exclusion is checked by `isResourcePath`). */
export const RESOURCE_PATH_PATTERN = `^${SEGMENT}/${SEGMENT}/${SEGMENT}$`;

const segmentOk = (s: string) => RESOURCE_SEGMENT.test(s) && s !== '.' && s !== '..';

export function isResourcePath(path: unknown): path is ResourcePath {
  if (typeof path !== 'string') return false;
  const parts = path.split('/');
  return parts.length === 3 && parts.every(segmentOk);
}

/** Splits a resource path, or refuses it (400: it came over HTTP or from a document a user wrote). */
export function parseResourcePath(path: string): [string, string, string] {
  if (!isResourcePath(path)) {
    throw new CloakError(
      'KBS_RESOURCE_PATH_INVALID',
      `resource path "${String(path).slice(0, 200)}" must be <repository>/<type>/<tag> of letters, digits, . _ -`,
    );
  }
  return path.split('/') as [string, string, string];
}

/** `kbs:///<repo>/<type>/<tag>`: the key id a layer's attestation-agent packet names. */
export const kbsUri = (path: ResourcePath): string => `kbs:///${path}`;

/** The resource path of a `kbs://[host]/<repo>/<type>/<tag>` URI, or undefined when it is not one. */
export function resourceOfKbsUri(uri: string): ResourcePath | undefined {
  const m = /^kbs:\/\/[^/]*\/(.*)$/s.exec(uri);
  return m && isResourcePath(m[1]) ? m[1] : undefined;
}
