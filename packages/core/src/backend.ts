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

/**
 * Where a session really runs: 'wasm' (WebAssembly on the CPU) or 'webgpu' in onnxruntime-web;
 * 'cpu', 'cuda' or 'webgpu' in onnxruntime-node.
 */
export type RuntimeDevice = 'wasm' | 'webgpu' | 'cpu' | 'cuda';

/** What a backend's runtime really runs with, next to what was asked: see InferenceBackend.report. */
export interface BackendReport {
  /**
   * Where the backend's latest session runs. Undefined where the backend cannot tell (the Node
   * backend's device 'auto', decided inside its worker threads).
   */
  device: RuntimeDevice | undefined;
  /** The device that was asked for ('cpu' when none was). */
  requestedDevice: Device;
  /**
   * Threads inference runs with: WebAssembly threads (onnxruntime-web, one runtime per page) or
   * intra-op threads per worker (onnxruntime-node). Undefined where the runtime picks and does not say.
   */
  threads: number | undefined;
  /** Threads that were asked for: undefined = none (the backend's default), 0 = the runtime's choice. */
  requestedThreads: number | undefined;
  /** Whether runs go through onnxruntime-web's proxy worker (off the page's thread); false in Node. */
  proxy: boolean;
  /**
   * Why fewer threads, or another device, than asked: for example threads without cross-origin
   * isolation, or WebGPU that could not start. Absent when what runs is what was asked.
   */
  reduced?: string;
}

/** Creates sessions from ONNX bytes. Implemented by @superres/models/node and /web. */
export interface InferenceBackend {
  readonly name: string;
  createSession(onnx: Uint8Array, options?: SessionOptions): Promise<InferenceSession>;
  /**
   * What the latest session this backend created runs on (device, threads), and why it is less
   * than asked when it is; undefined before the first session. Optional: superres' Node and web
   * backends have it.
   */
  report?(): BackendReport | undefined;
}
