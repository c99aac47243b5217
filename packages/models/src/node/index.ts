export { createNodeBackend } from './backend.js';
export { loadModelFile, type LoadModelFileOptions } from './load-model-file.js';
export { loadCatalogModel, type LoadCatalogModelOptions } from './load-catalog-model.js';
export * from './store/index.js';
export { writeFileAtomic, isTempName, type AtomicWriteOptions } from './store/atomic.js';
