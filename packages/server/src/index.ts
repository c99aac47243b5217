export type * from './contracts.js';
export { loadConfig, configTableMarkdown, CONFIG_VARIABLES, type ServerConfig, type ConfigVariable, type Env } from './config.js';
export { loadKeys, createKeyRing, keyId, type KeyRing, type KeyIdentity, type GeneratedKey } from './keys.js';
export { startServer, VERSION, type RunningServer, type StartServerOptions } from './server.js';
export { startWorker, jsonLogger, type RunningWorker } from './worker.js';
export { buildApp, type AppOptions } from './app.js';
export { createJobProcessor, type JobProcessorDeps } from './process-job.js';
export { errorToHttp, HTTP_STATUS_BY_CODE } from './errors-http.js';
export { ServerError, RateLimitedError, ServiceUnavailableError } from './errors.js';
