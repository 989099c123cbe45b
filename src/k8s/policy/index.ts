export * from './image-config.ts';
export * from './pod-data.ts';
export * from './opt-ins.ts';
export * from './render.ts';
