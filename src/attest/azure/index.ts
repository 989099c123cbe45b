export * from './hcl.ts';
export * from './runtime-claims.ts';
export * from './evidence.ts';
export * from './verify.ts';
