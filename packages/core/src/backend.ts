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
  /**
   * Runs a graph with several named float32 inputs or outputs (a face detector: one image in,
   * boxes, scores and landmarks out); answers every output by name. With `transfer`, the session
   * may take ownership of the inputs' buffers. Optional: superres' Node and web backends have it;
   * a backend without it runs single-input, single-output graphs only.
   */
  runNamed?(inputs: Readonly<Record<string, Tensor>>, options?: RunOptions): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** Creates sessions from ONNX bytes. Implemented by @superres/models/node and /web. */
export interface InferenceBackend {
  readonly name: string;
  createSession(onnx: Uint8Array, options?: SessionOptions): Promise<InferenceSession>;
}
