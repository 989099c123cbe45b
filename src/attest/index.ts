export * from './types.ts';
export * from './binding.ts';
export * from './sim/index.ts';
export * from './sample/index.ts';
export * from './tpm/index.ts';
export * from './azure/index.ts';
export * as dcap from './dcap/index.ts';
export * from './tdx/index.ts';
export * from './sgx/index.ts';
