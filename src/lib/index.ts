export * from './errors.ts';
export * from './bytes.ts';
export * from './reader.ts';
export * from './writer.ts';
export * from './canonical.ts';
export * from './x509.ts';
export * from './initdata.ts';
export * from './offloaded-hash.ts';
