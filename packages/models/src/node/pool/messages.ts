/**
 * What the main thread and an inference worker say to each other. Every request but `close`
 * carries an id and gets exactly one reply with that id. A worker handles requests one at a
 * time, in the order they arrive, so an `open` sent before a `run` is done before it.
 */
import type { SessionOptions } from '@superres/core';
import type { ConvertRequest, ConvertResult } from '../../convert/convert-request.js';
import type { NcnnConvertRequest, NcnnConvertResult } from '../../ncnn/convert-request.js';

export type WorkerRequest =
  | { op: 'open'; id: number; session: number; onnx: Uint8Array; options: SessionOptions }
  | { op: 'run'; id: number; session: number; data: Float32Array; dims: number[] }
  | { op: 'runNamed'; id: number; session: number; inputs: Record<string, { data: Float32Array; dims: number[] }> }
  | { op: 'convert'; id: number; request: ConvertRequest | NcnnConvertRequest }
  | { op: 'warm'; id: number }
  /** Answered once every message before it is handled: the pool's last word before it ends a worker. */
  | { op: 'drain'; id: number }
  | { op: 'close'; session: number };

/** A SuperresError (or any error) as plain data: it crosses the thread boundary by structured clone. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
  cause?: { name: string; message: string };
}

/** A run's result, and how long ONNX Runtime took for it in the worker. */
export type RunReply = { data: Float32Array; dims: number[]; ms: number };
/** A named run's outputs, and how long ONNX Runtime took. */
export type RunNamedReply = { outputs: Record<string, { data: Float32Array; dims: number[] }>; ms: number };

export type WorkerReply =
  | { id: number; ok: true; value: RunReply | RunNamedReply | ConvertResult | NcnnConvertResult | null }
  | { id: number; ok: false; error: SerializedError };
