export { createLocalStorage, type LocalStorage, type LocalStorageOptions } from './local.js';
export { createS3Storage, defaultS3BaseUrl, OUTPUT_CACHE_CONTROL, type S3Storage, type S3StorageOptions } from './s3.js';
export { storageFromEnv, STORAGE_ENV_VARIABLES, type StorageEnvVariable, type StorageFromEnvOptions } from './from-env.js';
export { StorageError, STORAGE_ERROR_CODE, isSafeKey, contentTypeForKey } from './errors.js';
