export {
  createModelStore,
  type ModelStore,
  type ModelStoreOptions,
  type PullOptions,
  type PullResult,
  type DownloadProgress,
  type StoredWeights,
  type StoreEntry,
  type VerifyResult,
  type VerifyStatus,
} from './store.js';
export { defaultModelsDir } from './paths.js';
export { DownloadError } from './download.js';
export { onnxCacheKey } from './onnx-cache.js';
export type { ImportOptions } from './import.js';
export type { ImportRecord } from './records.js';
