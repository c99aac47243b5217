/**
 * Checkpoint-to-ONNX conversion as plain data in and out, so it can run wherever the caller
 * sends it: in an inference worker (Node) or a Web Worker, away from the thread that serves
 * requests or paints the page. Reading a large checkpoint and building its graph takes seconds.
 */
import { buildDenoisedOnnx } from '../catalog/denoise.js';
import { convertCheckpoint, type ConvertCheckpointOptions, type ConvertedCheckpoint } from './convert-checkpoint.js';

export type ConvertRequest =
  | ({ kind: 'checkpoint'; bytes: Uint8Array } & ConvertCheckpointOptions)
  | { kind: 'denoise'; x4v3: Uint8Array; wdn: Uint8Array; denoise: number };

export interface ConvertResult {
  onnx: Uint8Array;
  /** What was built (absent for a denoise blend, whose geometry is its catalog entry's). */
  built?: Omit<ConvertedCheckpoint, 'onnx'>;
}

/** Carries out a conversion request in the current thread. */
export async function convertRequest(request: ConvertRequest): Promise<ConvertResult> {
  if (request.kind === 'denoise') {
    return { onnx: await buildDenoisedOnnx(request.x4v3, request.wdn, request.denoise) };
  }
  const { onnx, ...built } = convertCheckpoint(request.bytes, request);
  return { onnx, built };
}
