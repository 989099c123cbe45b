export * from './user.ts';
export * from './spec.ts';
export * from './runc.ts';
export * from './run.ts';
export * from './image-source.ts';
