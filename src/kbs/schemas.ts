import { Type, type Static } from '@sinclair/typebox';

/** Request and reply shapes of the KBS protocol; one schema serves validation, types and OpenAPI. */
export const AuthRequest = Type.Object({
  version: Type.String({ maxLength: 32 }),
  tee: Type.String({ maxLength: 64 }),
  'extra-params': Type.Optional(Type.Unknown()),
});
export type AuthRequest = Static<typeof AuthRequest>;

export const AuthReply = Type.Object({ nonce: Type.String(), 'extra-params': Type.Unknown() });
export type AuthReply = Static<typeof AuthReply>;

/**
 * The TEE's public key as CoCo guests send it (kbs-types `TeePubKey`): RSA
 * `kty, alg, n, e` or EC `kty, crv, alg, x, y`, and nothing else. It is
 * copied into every token, so no other member and no long value gets in;
 * which members go with which `kty` is checked in jwe.ts.
 */
export const TeePubkey = Type.Object(
  {
    kty: Type.Union([Type.Literal('EC'), Type.Literal('RSA')]),
    alg: Type.Optional(Type.String({ maxLength: 32 })),
    crv: Type.Optional(Type.String({ maxLength: 16 })),
    x: Type.Optional(Type.String({ maxLength: 128 })),
    y: Type.Optional(Type.String({ maxLength: 128 })),
    n: Type.Optional(Type.String({ maxLength: 1400 })), // base64url of up to 8192 bits
    e: Type.Optional(Type.String({ maxLength: 16 })),
  },
  { additionalProperties: false },
);
export type TeePubkey = Static<typeof TeePubkey>;

export const AttestRequest = Type.Object({
  'init-data': Type.Optional(
    Type.Union([
      Type.Null(),
      Type.Object({
        format: Type.String({ maxLength: 16 }),
        body: Type.String({ maxLength: 256 * 1024 }),
      }),
    ]),
  ),
  'runtime-data': Type.Object({
    nonce: Type.String({ maxLength: 128 }),
    'tee-pubkey': TeePubkey,
  }),
  'tee-evidence': Type.Union([
    Type.Object({
      primary_evidence: Type.Unknown(),
      additional_evidence: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    }),
    Type.String(),
  ]),
});
export type AttestRequest = Static<typeof AttestRequest>;

export const AttestReply = Type.Object({ token: Type.String() });
export type AttestReply = Static<typeof AttestReply>;

export const Problem = Type.Object({
  type: Type.String(),
  detail: Type.String(),
  title: Type.Optional(Type.String()),
  status: Type.Optional(Type.Integer()),
  code: Type.Optional(Type.String()),
});
