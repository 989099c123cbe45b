export * from './config.ts';
export * from './app.ts';
export * from './serve.ts';
export * from './tls.ts';
