/** The same job sent to a superres server through the SDK: upload, super_resolution, poll, fetch the output. */
import type { SuperresClient } from '@superres/sdk';
import type { StageName } from './protocol.js';

export interface ServerRun {
  client: SuperresClient;
  image: ImageData;
  modelId: string;
  scale: number | undefined;
  signal: AbortSignal;
  onStage(stage: StageName, ms: number, detail?: string): void;
  onStatus(text: string, etaMs?: number): void;
}

async function pngOf(image: ImageData): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(image.width, image.height);
  canvas.getContext('2d')!.putImageData(image, 0, 0);
  return new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

export async function runOnServer(run: ServerRun): Promise<ImageData> {
  const { client, signal } = run;
  let start = performance.now();
  run.onStatus('Uploading');
  const png = await pngOf(run.image);
  const uploaded = await client.uploadImage(png, { signal });
  run.onStage('upload', performance.now() - start, `${(png.length / 1e6).toFixed(2)} MB`);

  start = performance.now();
  run.onStatus('Queued on the server');
  let answer = await client.submitSuperResolution(
    { url: uploaded.output, model_id: run.modelId, ...(run.scale !== undefined ? { scale: run.scale } : {}), face_enhance: false },
    { signal },
  );
  while (answer.status === 'processing') {
    run.onStatus(answer.message, answer.eta * 1000);
    await sleep(Math.min(5000, Math.max(250, answer.eta * 1000)), signal);
    answer = await client.fetch(answer.id, { signal });
  }
  run.onStage('server', performance.now() - start, `${answer.generationTime.toFixed(2)} s on the server`);

  start = performance.now();
  run.onStatus('Fetching the result');
  const response = await fetch(answer.output, { signal, mode: 'cors' });
  if (!response.ok) throw new Error(`The output answered HTTP ${response.status}`);
  const bitmap = await createImageBitmap(await response.blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d')!;
  context.drawImage(bitmap, 0, 0);
  run.onStage('result', performance.now() - start);
  return context.getImageData(0, 0, bitmap.width, bitmap.height);
}
