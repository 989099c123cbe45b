export * from './unpack.ts';
export * from './safe-path.ts';
