export * from './types.ts';
export * from './pending.ts';
