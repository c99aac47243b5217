export { createNodeBackend, type NodeBackendOptions } from './backend.js';
export { loadModelFile, type LoadModelFileOptions } from './load-model-file.js';
export { loadCatalogModel, type LoadCatalogModelOptions } from './load-catalog-model.js';
export { createWorkerPool, type WorkerPool, type WorkerPoolOptions, type WorkerPoolStats } from './pool/worker-pool.js';
export { resolvePoolSize, DEFAULT_WORKERS, type PoolSizeOptions } from './pool/pool-size.js';
export { sharedWorkerPool, closeSharedWorkerPool } from './pool/shared-pool.js';
export * from './store/index.js';
export { writeFileAtomic, isTempName, sha256File, sha256Sliced, type AtomicWriteOptions } from './store/atomic.js';
