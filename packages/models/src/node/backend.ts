/**
 * InferenceBackend on onnxruntime-node. Sessions live in worker threads (ONNX Runtime's run()
 * blocks the thread that calls it): the caller's thread only moves tiles. onnxruntime-node is an
 * optional peer dependency, loaded by the workers on the first session.
 */
import type { InferenceBackend, InferenceSession, SessionOptions } from '@superres/core';
import { definedSessionOptions, validateCommonOptions, validateThreads } from '../runtime/ort-common.js';
import { sharedWorkerPool } from './pool/shared-pool.js';
import type { WorkerPool } from './pool/worker-pool.js';

export interface NodeBackendOptions extends SessionOptions {
  /** The workers that run the sessions; default: the process's shared pool (sharedWorkerPool()). */
  pool?: WorkerPool;
}

/** Creates sessions on onnxruntime-node; `defaults` apply where createSession's options are silent. */
export function createNodeBackend(defaults: NodeBackendOptions = {}): InferenceBackend {
  const { pool, ...sessionDefaults } = defaults;
  validateNodeOptions(sessionDefaults);
  return {
    name: 'onnxruntime-node',
    async createSession(onnx: Uint8Array, options: SessionOptions = {}): Promise<InferenceSession> {
      validateNodeOptions(options);
      const merged = { ...definedSessionOptions(sessionDefaults), ...definedSessionOptions(options) };
      return (pool ?? sharedWorkerPool()).openSession(onnx, merged);
    },
  };
}

function validateNodeOptions(options: SessionOptions): void {
  validateThreads('threads', options.threads);
  validateCommonOptions(options);
}
