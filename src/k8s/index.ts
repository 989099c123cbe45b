export * from './initdata.ts';
export * from './generate.ts';
