/** The demo page: picks the image and the model, runs in the worker or on a server, shows the result. */
import { createClient, type ModelInfo, type SuperresClient } from '@superres/sdk';
import { createCompareView } from './compare.js';
import { pickModelFiles, type PickedModel } from './model-files.js';
import type { Device, ModelSource, PageMessage, StageName, WorkerMessage } from './protocol.js';
import { runOnServer } from './server-mode.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  drop: $('drop'),
  imageFile: $<HTMLInputElement>('image-file'),
  imageInfo: $('image-info'),
  serverUrl: $<HTMLInputElement>('server-url'),
  apiKey: $<HTMLInputElement>('api-key'),
  modelSelect: $<HTMLSelectElement>('model-select'),
  modelFile: $<HTMLInputElement>('model-file'),
  modelInfo: $('model-info'),
  scale: $<HTMLSelectElement>('scale'),
  tile: $<HTMLSelectElement>('tile'),
  device: $<HTMLSelectElement>('device'),
  run: $<HTMLButtonElement>('run'),
  cancel: $<HTMLButtonElement>('cancel'),
  progress: $<HTMLProgressElement>('progress'),
  status: $('status'),
  backend: $('backend'),
  stages: $('stages').querySelector('tbody')!,
  zoom: $<HTMLSelectElement>('zoom'),
  split: $<HTMLInputElement>('split'),
  download: $<HTMLAnchorElement>('download'),
};

const view = createCompareView({ viewport: $('viewport'), stage: $('stage'), before: $('before'), after: $('after'), divider: $('divider') });

/** What the page holds: the decoded input, the chosen model, the last result (also for automated checks). */
const state: {
  image: { bitmap: ImageBitmap; pixels: ImageData; name: string } | undefined;
  modelFile: PickedModel | undefined;
  result: ImageData | undefined;
  busy: boolean;
  abort: (() => void) | undefined;
} = { image: undefined, modelFile: undefined, result: undefined, busy: false, abort: undefined };

const mode = (): 'browser' | 'server' => ((document.querySelector('input[name=mode]:checked') as HTMLInputElement).value === 'server' ? 'server' : 'browser');
const serverBase = () => ui.serverUrl.value.trim() || location.origin;
const client = (): SuperresClient => createClient({ baseUrl: serverBase(), key: ui.apiKey.value.trim() || 'none' });

function setStatus(text: string): void {
  ui.status.textContent = text;
}

function refreshButtons(): void {
  const model = mode() === 'server' ? ui.modelSelect.value !== '' : ui.modelSelect.value !== '' || state.modelFile !== undefined;
  ui.run.disabled = state.busy || !state.image || !model;
  ui.cancel.disabled = !state.busy;
}

function stageRow(stage: StageName, ms: number, detail?: string): void {
  const row = ui.stages.insertRow();
  row.insertCell().textContent = stage;
  row.insertCell().textContent = `${(ms / 1000).toFixed(2)} s`;
  row.insertCell().textContent = detail ?? '';
}

function formatEta(ms: number | undefined): string {
  if (ms === undefined) return '';
  const seconds = Math.ceil(ms / 1000);
  return seconds >= 60 ? `, about ${Math.floor(seconds / 60)} min ${seconds % 60} s left` : `, about ${seconds} s left`;
}

async function loadImage(file: File): Promise<void> {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d', { colorSpace: 'srgb' })!;
  context.drawImage(bitmap, 0, 0);
  state.image = { bitmap, pixels: context.getImageData(0, 0, bitmap.width, bitmap.height), name: file.name };
  ui.imageInfo.textContent = `${file.name}: ${bitmap.width} x ${bitmap.height}`;
  refreshButtons();
}

async function listServerModels(): Promise<void> {
  const previous = ui.modelSelect.value;
  while (ui.modelSelect.options.length > 1) ui.modelSelect.remove(1);
  let models: ModelInfo[];
  try {
    models = await client().getAllModels();
  } catch (error) {
    ui.modelInfo.textContent = `No model list from ${serverBase()}: ${(error as Error).message}`;
    return;
  }
  for (const model of models) {
    // The browser runs what the server can hand over: installed weights.
    const usable = mode() === 'server' || model.installed;
    const option = new Option(`${model.model_id} (x${model.scale}${model.installed ? '' : ', not installed'})`, model.model_id);
    option.disabled = !usable;
    ui.modelSelect.add(option);
  }
  if ([...ui.modelSelect.options].some((o) => o.value === previous && !o.disabled)) ui.modelSelect.value = previous;
  ui.modelInfo.textContent = `${models.length} model(s) on ${serverBase()}`;
  refreshButtons();
}

function showResult(result: ImageData, name: string): void {
  state.result = result;
  view.show(state.image!.bitmap, result);
  const canvas = document.createElement('canvas');
  canvas.width = result.width;
  canvas.height = result.height;
  canvas.getContext('2d')!.putImageData(result, 0, 0);
  canvas.toBlob((blob) => {
    if (!blob) return;
    if (ui.download.href) URL.revokeObjectURL(ui.download.href);
    ui.download.href = URL.createObjectURL(blob);
    ui.download.download = `${name.replace(/\.[^.]+$/, '')}_upscaled.png`;
    ui.download.hidden = false;
  }, 'image/png');
}

let worker: Worker | undefined;
function upscaleWorker(): Worker {
  worker ??= new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  return worker;
}

async function modelForBrowser(): Promise<ModelSource> {
  if (ui.modelSelect.value === '') {
    const { main, ncnnBin } = state.modelFile!;
    const name = main.name.replace(/\.[^.]+$/, '');
    return { name, bytes: await main.arrayBuffer(), ...(ncnnBin ? { ncnnBin: await ncnnBin.arrayBuffer() } : {}) };
  }
  const start = performance.now();
  const bytes = await client().downloadModel(ui.modelSelect.value);
  stageRow('download', performance.now() - start, `${(bytes.length / 1e6).toFixed(1)} MB from ${serverBase()}`);
  return { name: ui.modelSelect.value, bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer };
}

function runInBrowser(): Promise<void> {
  const image = state.image!;
  return new Promise((resolve) => {
    const w = upscaleWorker();
    const done = () => {
      w.removeEventListener('message', onMessage);
      w.removeEventListener('error', onError);
      resolve();
    };
    // A worker that fails to load or crashes says nothing more: stop waiting, and start a fresh one next time.
    const onError = (event: ErrorEvent) => {
      setStatus(`Failed: the worker stopped (${event.message || 'no message'})`);
      w.terminate();
      worker = undefined;
      done();
    };
    w.addEventListener('error', onError);
    const onMessage = (event: MessageEvent<WorkerMessage>) => {
      const message = event.data;
      switch (message.type) {
        case 'stage':
          stageRow(message.stage, message.ms, message.detail);
          break;
        case 'backend': {
          const r = message.report;
          ui.backend.textContent = `Ran on ${r.device ?? 'unknown'} with ${r.threads ?? '?'} thread(s)${r.proxy ? ' (proxy worker)' : ''}${r.reduced ? `: ${r.reduced}` : ''}`;
          break;
        }
        case 'progress':
          ui.progress.max = message.total;
          ui.progress.value = message.done;
          setStatus(`Tile ${message.done} of ${message.total}${formatEta(message.etaMs)}`);
          break;
        case 'result':
          ui.progress.value = ui.progress.max;
          setStatus(`Done: ${message.width} x ${message.height}`);
          showResult(new ImageData(new Uint8ClampedArray(message.data), message.width, message.height), image.name);
          done();
          break;
        case 'cancelled':
          setStatus('Cancelled');
          done();
          break;
        case 'error':
          setStatus(`Failed: ${message.message}${message.code ? ` (${message.code})` : ''}`);
          done();
          break;
      }
    };
    w.addEventListener('message', onMessage);
    state.abort = () => w.postMessage({ type: 'cancel' } satisfies PageMessage);
    void modelForBrowser().then(
      (model) => {
        const pixels = image.pixels.data.slice().buffer;
        const request: PageMessage = {
          type: 'run',
          image: { width: image.pixels.width, height: image.pixels.height, data: pixels },
          model,
          scale: ui.scale.value === '' ? undefined : Number(ui.scale.value),
          tile: ui.tile.value === 'auto' ? 'auto' : Number(ui.tile.value),
          device: ui.device.value as Device,
        };
        w.postMessage(request, [pixels, model.bytes, ...(model.ncnnBin ? [model.ncnnBin] : [])]);
      },
      (error: unknown) => {
        setStatus(`Failed: ${(error as Error).message}`);
        done();
      },
    );
  });
}

async function run(): Promise<void> {
  if (!state.image || state.busy) return;
  state.busy = true;
  state.result = undefined;
  ui.stages.replaceChildren();
  ui.backend.textContent = '';
  ui.download.hidden = true;
  ui.progress.removeAttribute('value');
  setStatus('Starting');
  refreshButtons();
  try {
    if (mode() === 'browser') {
      await runInBrowser();
    } else {
      const controller = new AbortController();
      state.abort = () => controller.abort();
      const result = await runOnServer({
        client: client(),
        image: state.image.pixels,
        modelId: ui.modelSelect.value,
        scale: ui.scale.value === '' ? undefined : Number(ui.scale.value),
        signal: controller.signal,
        onStage: stageRow,
        onStatus: (text, etaMs) => setStatus(`${text}${formatEta(etaMs)}`),
      }).catch((error: unknown) => {
        setStatus(controller.signal.aborted ? 'Cancelled' : `Failed: ${(error as Error).message}`);
        return undefined;
      });
      if (result) {
        ui.progress.max = 1;
        ui.progress.value = 1;
        ui.backend.textContent = `Ran on ${serverBase()}`;
        setStatus(`Done: ${result.width} x ${result.height}`);
        showResult(result, state.image.name);
      }
    }
  } finally {
    state.busy = false;
    state.abort = undefined;
    if (ui.progress.getAttribute('value') === null) ui.progress.value = 0;
    refreshButtons();
  }
}

// Wiring.
ui.imageFile.addEventListener('change', () => ui.imageFile.files?.[0] && void loadImage(ui.imageFile.files[0]));
ui.drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (event) => {
  event.preventDefault();
  ui.drop.classList.remove('over');
  const file = event.dataTransfer?.files[0];
  if (file) void loadImage(file);
});
ui.modelFile.addEventListener('change', () => {
  const files = [...(ui.modelFile.files ?? [])];
  const picked = files.length > 0 ? pickModelFiles(files) : undefined;
  state.modelFile = picked && 'main' in picked ? picked : undefined;
  if (picked && 'error' in picked) {
    ui.modelInfo.textContent = picked.error;
  } else if (picked) {
    ui.modelSelect.value = '';
    const { main, ncnnBin } = picked;
    const size = main.size + (ncnnBin?.size ?? 0);
    const what = ncnnBin ? `${main.name} + ${ncnnBin.name} (ncnn)` : main.name;
    ui.modelInfo.textContent = `${what}: ${(size / 1e6).toFixed(1)} MB, converted in this browser`;
  }
  refreshButtons();
});
ui.modelSelect.addEventListener('change', refreshButtons);
for (const input of [ui.serverUrl, ui.apiKey]) input.addEventListener('change', () => void listServerModels());
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=mode]')) {
  radio.addEventListener('change', () => {
    document.body.classList.toggle('server', mode() === 'server');
    void listServerModels();
  });
}
ui.run.addEventListener('click', () => void run());
ui.cancel.addEventListener('click', () => state.abort?.());
ui.zoom.addEventListener('change', () => view.setZoom(ui.zoom.value === 'fit' ? 'fit' : Number(ui.zoom.value)));
ui.split.addEventListener('input', () => view.setSplit(Number(ui.split.value)));

// For automated checks (the end-to-end test reads the result's pixels).
Object.assign(globalThis, { superresDemo: { state, run } });
const params = new URLSearchParams(location.search);
if (params.get('server')) ui.serverUrl.value = params.get('server')!;
if (ui.apiKey.value) void listServerModels();
refreshButtons();
