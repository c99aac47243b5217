export { createNodeBackend } from './backend.js';
export { loadModelFile, type LoadModelFileOptions } from './load-model-file.js';
