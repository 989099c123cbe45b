export { loadServerConfig, parseRetention, parseListen, type ServerConfig } from './config.ts';
export { buildApp, type AppDeps } from './app.ts';
export { startServer, type RunningServer } from './serve.ts';
export { SERVER_ERRORS } from './errors.ts';
export {
  isLoopbackHost,
  selfSignedNames,
  createSelfSignedCertificate,
  readTlsFiles,
  loadOrCreateSelfSigned,
  type TlsMaterial,
} from './tls.ts';
