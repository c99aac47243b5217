export * from './schemas.js';
export * from './routes.js';
export * from './errors.js';
export * from './webhook.js';
export * from './client.js';
export { schemaValidation, type ClientValidation, type RequestKind, type ValidatedAnswerKind } from './client-validation.js';
