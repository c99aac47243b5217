import type { AbortSignalLike } from './signal.js';
import type { Tensor } from './image.js';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';
export type Device = 'cpu' | 'cuda' | 'webgpu' | 'auto';

export interface SessionOptions {
  /** Intra-op threads; undefined lets the runtime choose. */
  threads?: number;
  graphOptimization?: GraphOptimizationLevel;
  device?: Device;
}

export interface RunOptions {
  signal?: AbortSignalLike;
}

/** One loaded ONNX graph with a single image input and a single image output. */
export interface InferenceSession {
  run(input: Tensor, options?: RunOptions): Promise<Tensor>;
  release(): Promise<void>;
}

/** Creates sessions from ONNX bytes. Implemented by @superres/models/node and /web. */
export interface InferenceBackend {
  readonly name: string;
  createSession(onnx: Uint8Array, options?: SessionOptions): Promise<InferenceSession>;
}
