/**
 * The upscaling worker: model conversion, the onnxruntime-web session and the tiles all run here,
 * off the page's thread (WebAssembly's run() blocks the thread that calls it).
 */
import { upscale, type Image, type LoadedModel } from '@superres/core';
import { createWebBackend } from '@superres/models/web';
import { convertModel, openModel } from './model-loader.js';
import type { PageMessage, RunRequest, StageName, WorkerMessage } from './protocol.js';

const scope = self as unknown as { postMessage(message: WorkerMessage, transfer?: Transferable[]): void; onmessage: ((event: MessageEvent<PageMessage>) => void) | null };
const post = (message: WorkerMessage, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

// One backend per worker: onnxruntime-web's runtime starts once per worker and its thread count
// is fixed from then on. Default threads: the runtime's choice when the page is cross-origin
// isolated, else 1 (the report says so). The runtime's build follows the browser: with a WebGPU
// adapter, onnxruntime-web's WebGPU build (its WebGPU execution provider and WebAssembly);
// without, its WebAssembly-only build. Each is far smaller than the default bundle, which
// carries both the JSEP WebGPU code and the WebAssembly glue (113 KB gzipped).
async function hasWebGpu(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  return gpu !== undefined && (await gpu.requestAdapter().catch(() => null)) !== null;
}
const backend = createWebBackend({
  runtime: async () => ((await hasWebGpu()) ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm')),
});
let running: AbortController | undefined;

async function timed<T>(stage: StageName, work: () => Promise<T>, detail?: (value: T) => string): Promise<T> {
  const start = performance.now();
  const value = await work();
  post({ type: 'stage', stage, ms: performance.now() - start, ...(detail ? { detail: detail(value) } : {}) });
  return value;
}

async function run(request: RunRequest, signal: AbortSignal): Promise<void> {
  const bytes = new Uint8Array(request.model.bytes);
  const ncnnBin = request.model.ncnnBin ? new Uint8Array(request.model.ncnnBin) : undefined;
  const converted = await timed('convert', () => convertModel(request.model.name, bytes, ncnnBin), (c) => c.description);
  signal.throwIfAborted();
  const model: LoadedModel = await timed('session', () => openModel(request.model.name, converted, backend, request.device));
  try {
    const report = backend.report?.();
    if (report) post({ type: 'backend', report });
    const image: Image = { width: request.image.width, height: request.image.height, channels: 4, bitDepth: 8, data: new Uint8Array(request.image.data) };
    const output = await timed('upscale', () =>
      upscale(image, model, {
        tile: request.tile,
        ...(request.scale !== undefined ? { outscale: request.scale } : {}),
        signal,
        onProgress: (p) => {
          if (p.stage === 'inference') post({ type: 'progress', done: p.tilesDone, total: p.tilesTotal, elapsedMs: p.elapsedMs, etaMs: p.etaMs });
        },
      }),
    );
    const data = output.data as Uint8Array;
    const copy = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
    post({ type: 'result', width: output.width, height: output.height, data: copy.buffer as ArrayBuffer }, [copy.buffer as ArrayBuffer]);
  } finally {
    await model.release();
  }
}

scope.onmessage = (event) => {
  const message = event.data;
  if (message.type === 'cancel') {
    running?.abort(new DOMException('Cancelled', 'AbortError'));
    return;
  }
  const controller = new AbortController();
  running = controller;
  run(message, controller.signal)
    .catch((error: unknown) => {
      if (controller.signal.aborted) return post({ type: 'cancelled' });
      const e = error as { name?: string; code?: string; message?: string };
      post({ type: 'error', name: e.name ?? 'Error', code: e.code, message: e.message ?? String(error) });
    })
    .finally(() => {
      if (running === controller) running = undefined;
    });
};
