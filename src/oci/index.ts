export * from './unpack.ts';
export * from './safe-path.ts';
export * from './layout.ts';
export * from './ocicrypt.ts';
export * from './crypt-image.ts';
export * from './build.ts';
