export * from './errors.js';
export * from './image.js';
export * from './backend.js';
export * from './plugin.js';
export * from './registry.js';
export * from './model.js';
export * from './signal.js';
