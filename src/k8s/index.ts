export * from './initdata.ts';
export * from './generate.ts';
export * from './pin.ts';
export * from './agent-policy.ts';
export * from './policy/index.ts';
export { K8S_ERRORS } from './errors.ts';
