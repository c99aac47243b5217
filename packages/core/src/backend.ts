import type { AbortSignalLike } from './signal.js';
import type { Tensor } from './image.js';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';
export type Device = 'cpu' | 'cuda' | 'webgpu' | 'auto';

export interface SessionOptions {
  /** Intra-op threads; undefined lets the runtime choose. */
  threads?: number;
  graphOptimization?: GraphOptimizationLevel;
  device?: Device;
  /**
   * Whether idle runtime threads spin while waiting for work (the runtime's default). Spinning
   * saves a little latency between a run's parallel sections and burns CPU doing it: off for a
   * shared host (the server's default).
   */
  spinning?: boolean;
}

export interface RunOptions {
  signal?: AbortSignalLike;
  /** The caller hands over the input's buffer (see InferenceSession.run). */
  transfer?: boolean;
}

/** One loaded ONNX graph with a single image input and a single image output. */
export interface InferenceSession {
  /** How many runs can proceed at once (e.g. a pool of workers); undefined = 1. */
  readonly parallelism?: number;
  /**
   * Runs the graph. With `transfer`, the session may take ownership of `input.data`'s buffer
   * (move it to a worker without a copy): the caller must not use it afterwards.
   */
  run(input: Tensor, options?: RunOptions): Promise<Tensor>;
  release(): Promise<void>;
}

/** Creates sessions from ONNX bytes. Implemented by @superres/models/node and /web. */
export interface InferenceBackend {
  readonly name: string;
  createSession(onnx: Uint8Array, options?: SessionOptions): Promise<InferenceSession>;
}
