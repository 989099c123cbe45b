export * from './constants.ts';
export * from './attest.ts';
export * from './signature.ts';
export * from './public.ts';
export * from './quote.ts';
export * from './verifier.ts';
export * from './wire.ts';
