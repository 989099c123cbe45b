export * from './types.ts';
export * from './binding.ts';
export * from './sim/index.ts';
export * from './sample/index.ts';
export * from './tpm/index.ts';
export * from './azure/index.ts';
