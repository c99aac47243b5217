// Browser entry: the onnxruntime-web backend. No Node modules here; onnxruntime-web is loaded lazily.
export { createWebBackend, type WebBackend, type WebBackendOptions, type WasmPaths } from './backend.js';
