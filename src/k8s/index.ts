export * from './initdata.ts';
export * from './generate.ts';
export * from './pin.ts';
export * from './agent-policy.ts';
export * from './policy/index.ts';
export * from './agent-container.ts';
export * from './sealed-env.ts';
