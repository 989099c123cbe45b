export * from './config.ts';
export * from './app.ts';
export * from './serve.ts';
export { SERVER_ERRORS } from './errors.ts';
