import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloakError } from '../lib/index.ts';
import { httpStatus, kindOfStatus, HTTP_STATUS } from './http-status.ts';

test('each code answers with the HTTP status it had when throw sites named statuses', () => {
  const cases: [ConstructorParameters<typeof CloakError>[0], number][] = [
    ['KBS_RESOURCE_PATH_INVALID', 400],
    ['REQUEST_TOO_DEEP', 400],
    ['KBS_REPORT_DATA_MISMATCH', 401],
    ['ADMIN_UNAUTHORIZED', 401],
    ['KBS_POLICY_DENY', 403],
    ['POLICY_DEBUG_REFUSED', 401],
    ['KBS_RESOURCE_NOT_FOUND', 404],
    ['NOT_FOUND', 404],
    ['REQUEST_METHOD_NOT_ALLOWED', 405],
    ['KBS_SESSION_ATTESTED', 409],
    ['STORE_CONFLICT', 409],
    ['ADMIN_RESOURCE_TOO_LARGE', 413],
    ['REQUEST_PATH_TOO_LONG', 414],
    ['REQUEST_MEDIA_TYPE', 415],
    ['POLICY_IN_FORCE_INVALID', 500],
    ['STORE_QUERY_FAILED', 500],
    ['DCAP_COLLATERAL_UNAVAILABLE', 502],
    ['STORE_UNAVAILABLE', 503],
    ['STORE_BUSY', 503],
  ];
  for (const [code, status] of cases) assert.equal(httpStatus(new CloakError(code, 'x')), status, code);
});

test('a kind given where the error is thrown wins over the catalogue; anything else is a 500', () => {
  // The broker gives every verifier failure the kind unauthorized (a 401), whatever the verifier's code's kind.
  assert.equal(httpStatus(new CloakError('KBS_POLICY_DENY', 'x', { kind: 'unauthorized' })), 401);
  assert.equal(httpStatus(new Error('boom')), 500);
  assert.equal(httpStatus('not an error'), 500);
});

test("Fastify's own 4xx statuses keep their status through kindOfStatus", () => {
  for (const status of Object.values(HTTP_STATUS)) assert.equal(HTTP_STATUS[kindOfStatus(status)], status);
  assert.equal(kindOfStatus(418), 'invalid');
});
