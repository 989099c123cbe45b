import canonicalize from 'canonicalize';
import { CloakError } from './errors.ts';

/** RFC 8785 (JCS) canonical JSON text of `value`. */
export function canonicalJson(value: unknown): string {
  const text = (canonicalize as unknown as (v: unknown) => string | undefined)(value);
  if (text === undefined) throw new CloakError('CANONICAL_JSON', 'value cannot be expressed as canonical JSON');
  return text;
}
