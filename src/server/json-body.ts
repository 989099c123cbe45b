import type { FastifyInstance } from 'fastify';
import { CloakError } from '../lib/index.ts';

/** Deeper than any request the server takes (evidence, manifests, reference values nest a handful of levels). */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether JSON text nests arrays and objects deeper than `max`: one pass over
 * the text, before it is parsed, so a 100k-deep body never reaches code that
 * recurses over it (canonicalize, the token signer). Brackets inside strings
 * do not count; malformed text is left to the parser.
 */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export function tooDeepError(): CloakError {
  return new CloakError('REQUEST_TOO_DEEP', `request body nests JSON deeper than ${MAX_JSON_DEPTH} levels`);
}

/** Replaces Fastify's JSON body parser with one that refuses deep JSON (400) and keeps its prototype-poisoning checks. */
export function useDepthLimitedJson(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonTooDeep(body as string)) return done(tooDeepError(), undefined);
    parse(req, body as string, done);
  });
}
