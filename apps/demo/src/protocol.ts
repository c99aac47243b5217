/** Messages between the page and the upscaling worker. */
import type { BackendReport } from '@superres/core';

/** The model file: one the visitor dropped, or a server's catalog model downloaded by the page. */
export interface ModelSource {
  name: string;
  bytes: ArrayBuffer;
  /** An ncnn model: `bytes` is the .param text, this its .bin. */
  ncnnBin?: ArrayBuffer;
}

export type Device = 'auto' | 'wasm' | 'webgpu';

export interface RunRequest {
  type: 'run';
  /** RGBA, 8 bits per channel, as a canvas gives it. */
  image: { width: number; height: number; data: ArrayBuffer };
  model: ModelSource;
  /** Output scale; undefined = the model's own. */
  scale: number | undefined;
  tile: number | 'auto';
  device: Device;
}

export interface CancelRequest {
  type: 'cancel';
}

export type PageMessage = RunRequest | CancelRequest;

export type StageName = 'download' | 'convert' | 'session' | 'upscale' | 'upload' | 'server' | 'result';

export type WorkerMessage =
  | { type: 'stage'; stage: StageName; ms: number; detail?: string }
  | { type: 'backend'; report: BackendReport }
  | { type: 'progress'; done: number; total: number; elapsedMs: number; etaMs: number | undefined }
  | { type: 'result'; width: number; height: number; data: ArrayBuffer }
  | { type: 'error'; name: string; code: string | undefined; message: string }
  | { type: 'cancelled' };
