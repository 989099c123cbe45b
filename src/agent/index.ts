export * from './kbs-client.ts';
export * from './workload.ts';
export * from './init.ts';
export * from './secrets.ts';
export * from './select.ts';
export * from './evidence/sim.ts';
export * from './evidence/tsm.ts';
export { AGENT_ERRORS } from './errors.ts';
