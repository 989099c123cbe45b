export * from './user.ts';
export * from './spec.ts';
export * from './runc.ts';
export * from './run.ts';
export * from './image-source.ts';
export * from './id-range.ts';
export * from './run-dir.ts';
export * from './interrupt.ts';
export { RUNTIME_ERRORS } from './errors.ts';
