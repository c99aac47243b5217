/**
 * InferenceBackend on onnxruntime-node. Sessions live in worker threads (ONNX Runtime's run()
 * blocks the thread that calls it): the caller's thread only moves tiles. onnxruntime-node is an
 * optional peer dependency, loaded by the workers on the first session.
 */
import type { BackendReport, InferenceBackend, InferenceSession, SessionOptions } from '@superres/core';
import { definedSessionOptions, validateCommonOptions, validateThreads } from '../runtime/ort-common.js';
import { sharedWorkerPool } from './pool/shared-pool.js';
import type { WorkerPool } from './pool/worker-pool.js';

export interface NodeBackendOptions extends SessionOptions {
  /** The workers that run the sessions; default: the process's shared pool (sharedWorkerPool()). */
  pool?: WorkerPool;
}

/** The onnxruntime-node backend: an InferenceBackend that says what its sessions run with. */
export interface NodeBackend extends InferenceBackend {
  /**
   * What the latest session of this backend runs with: the device ('cpu', 'cuda' or 'webgpu';
   * undefined for device 'auto', which each worker decides for itself) and the intra-op threads
   * per worker (undefined for 0, ONNX Runtime's own choice). `proxy` is false. Undefined before
   * the first session.
   */
  report(): BackendReport | undefined;
}

/** Creates sessions on onnxruntime-node; `defaults` apply where createSession's options are silent. */
export function createNodeBackend(defaults: NodeBackendOptions = {}): NodeBackend {
  const { pool, ...sessionDefaults } = defaults;
  validateNodeOptions(sessionDefaults);
  let latest: BackendReport | undefined;
  return {
    name: 'onnxruntime-node',
    report: () => (latest === undefined ? undefined : { ...latest }),
    async createSession(onnx: Uint8Array, options: SessionOptions = {}): Promise<InferenceSession> {
      validateNodeOptions(options);
      const merged = { ...definedSessionOptions(sessionDefaults), ...definedSessionOptions(options) };
      const workers = pool ?? sharedWorkerPool();
      const session = await workers.openSession(onnx, merged);
      // The pool gives a session its own threads, else its per-worker count; a session opens on
      // an explicit device or fails, so that device is the one it runs on.
      const requestedDevice = merged.device ?? 'cpu';
      const threads = merged.threads ?? workers.threads;
      latest = {
        device: requestedDevice === 'auto' ? undefined : requestedDevice,
        requestedDevice,
        threads: threads > 0 ? threads : undefined,
        requestedThreads: merged.threads,
        proxy: false,
      };
      return session;
    },
  };
}

function validateNodeOptions(options: SessionOptions): void {
  validateThreads('threads', options.threads);
  validateCommonOptions(options);
}
