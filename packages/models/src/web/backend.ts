/**
 * InferenceBackend on onnxruntime-web: WebAssembly on the CPU, WebGPU on the GPU. The runtime is an
 * optional peer dependency, imported on the first createSession, so that importing this module
 * loads nothing heavy and bundlers can split the runtime into its own chunk.
 *
 * Browser-safe: no `node:*` module, no DOM type. In Node (tests, tools) the same import resolves
 * onnxruntime-web's Node build, which loads its .wasm from its own package folder.
 *
 * ONNX Runtime Web reads `env.wasm` (threads, file locations, proxy worker) once, when its
 * WebAssembly runtime starts at the first session of the page: these settings are per page, not
 * per session. A later backend or session that asks for different ones gets a BackendError
 * rather than being ignored silently.
 */
import {
  BackendError,
  InvalidOptionError,
  type Device,
  type InferenceBackend,
  type InferenceSession,
  type SessionOptions,
} from '@superres/core';
import {
  definedSessionOptions,
  LOG_SEVERITY_ERROR,
  messageOf,
  validateCommonOptions,
  validateThreads,
  wrapOrtSession,
} from '../runtime/ort-common.js';
import type * as OrtModule from 'onnxruntime-web';

type Ort = typeof OrtModule;
type OrtSession = OrtModule.InferenceSession;

/** Where onnxruntime-web finds its files: a URL prefix ending in "/", or each file's URL. */
export type WasmPaths = string | { readonly wasm?: string; readonly mjs?: string };

export interface WebBackendOptions extends SessionOptions {
  /**
   * Where the runtime's `.wasm` (and `.mjs`) files are served from, when the bundler does not
   * emit them next to the bundle: a URL prefix ending in "/" (for example a CDN folder of the
   * same onnxruntime-web version), or `{ wasm, mjs }` with one URL each. Default: ORT's own
   * lookup (beside the bundle in browsers, its package folder in Node).
   */
  wasmPaths?: WasmPaths;
  /**
   * WebAssembly threads (`ort.env.wasm.numThreads`); the same setting as `threads`. Threads need
   * SharedArrayBuffer, which browsers give only to cross-origin isolated pages (COOP + COEP
   * headers). Default: 1 unless `crossOriginIsolated`, then ORT's choice (half the cores, at
   * most 4); 0 = ORT's choice.
   */
  numThreads?: number;
  /**
   * Run the WebAssembly runtime in a Web Worker so inference does not block the page. Default: on
   * when the runtime starts on a browser page's main thread (WebAssembly's run() blocks the thread
   * that calls it, as onnxruntime-node's does), off in workers and in Node. WebGPU sessions run
   * on the page's thread either way (ORT's proxy serves WebAssembly only); their work is on the GPU.
   */
  proxy?: boolean;
}

/** The env.wasm settings as the runtime took them, for conflict checks. */
interface WasmSettings {
  numThreads: number | undefined;
  wasmPaths: string | undefined;
  proxy: boolean | undefined;
}

interface NavigatorGpu {
  requestAdapter(options?: unknown): Promise<unknown>;
}

const WASM_PATH_KEYS = ['wasm', 'mjs'] as const;

let ortPromise: Promise<Ort> | undefined;
/** Set when the first session started the runtime: env.wasm is fixed from then on. */
let started: WasmSettings | undefined;

/** Imports onnxruntime-web once; a failed import is retried on the next call. */
function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-web').catch((error: unknown) => {
    ortPromise = undefined;
    throw new BackendError(
      isModuleNotFound(error)
        ? 'The web backend needs onnxruntime-web: install it next to @superres/models (npm install onnxruntime-web)'
        : `onnxruntime-web is installed but could not be loaded: ${messageOf(error)}`,
      { cause: error },
    );
  });
  return ortPromise;
}

/**
 * Creates sessions on onnxruntime-web; `defaults` apply where createSession's options are silent.
 * Devices: 'cpu' = WebAssembly, 'webgpu' = WebGPU, 'auto' = WebGPU where an adapter exists, else
 * WebAssembly; 'cuda' does not exist in browsers (BackendError).
 */
export function createWebBackend(defaults: WebBackendOptions = {}): InferenceBackend {
  validateOptions(defaults);
  const { wasmPaths, numThreads, proxy, ...sessionDefaults } = defaults;
  return {
    name: 'onnxruntime-web',
    async createSession(onnx: Uint8Array, options: SessionOptions = {}): Promise<InferenceSession> {
      validateOptions(options);
      const merged: SessionOptions = { ...sessionDefaults, ...definedSessionOptions(options) };
      const device = merged.device ?? 'cpu';
      if (device === 'cuda') {
        throw new BackendError(
          'Device "cuda" is not available in onnxruntime-web: browsers have no CUDA. Use device "webgpu" for the GPU, ' +
            '"cpu" for WebAssembly, or the Node backend (@superres/models/node) for CUDA',
          { details: { device } },
        );
      }
      // Decided before the runtime starts, so that a refused device leaves env.wasm untouched.
      let webgpu = false;
      if (device === 'webgpu') {
        const problem = await webGpuProblem();
        if (problem !== undefined) {
          throw new BackendError(`Device "webgpu" is not available: ${problem}`, { details: { device } });
        }
        webgpu = true;
      } else if (device === 'auto') {
        webgpu = (await webGpuProblem()) === undefined;
      }
      // `threads` passed to this session wins over the backend's numThreads, as any session option does.
      const threads = options.threads ?? numThreads ?? sessionDefaults.threads;
      const ort = await loadOrt();
      const settings = configureWasm(ort, { numThreads: threads, wasmPaths, proxy, defaultProxy: defaultProxy(webgpu) });
      // The proxy worker takes ownership of (detaches) the model's buffer: hand it a copy.
      const bytes = settings.proxy === true ? onnx.slice() : onnx;
      const session = await openSession(ort, bytes, merged, device, webgpu);
      return wrapOrtSession(session, {
        runtime: 'ONNX Runtime Web',
        tensor: (data, dims) => new ort.Tensor('float32', data, dims),
        // The proxy worker takes ownership of (detaches) the input's buffer: hand it a copy,
        // unless the caller handed the buffer over (the pipeline's tiles).
        copyInputs: settings.proxy === true,
      });
    },
  };
}

/**
 * Writes env.wasm before the runtime starts; afterwards checks that what is asked is what runs.
 * Only explicit requests are compared: an unset option accepts whatever the page started with.
 */
function configureWasm(
  ort: Ort,
  wanted: {
    numThreads: number | undefined;
    wasmPaths: WasmPaths | undefined;
    proxy: boolean | undefined;
    /** Applied when the runtime starts and nothing was asked: never a conflict later. */
    defaultProxy: boolean | undefined;
  },
): WasmSettings {
  const wasmPathsKey = wanted.wasmPaths === undefined ? undefined : JSON.stringify(wanted.wasmPaths);
  if (started) {
    const conflicts: string[] = [];
    // 0 asks for the runtime's choice: whatever runs is that.
    if (wanted.numThreads !== undefined && wanted.numThreads !== 0 && wanted.numThreads !== started.numThreads) {
      conflicts.push(`numThreads ${wanted.numThreads} (running: ${started.numThreads ?? "ORT's default"})`);
    }
    if (wasmPathsKey !== undefined && wasmPathsKey !== started.wasmPaths) {
      conflicts.push(`wasmPaths ${wasmPathsKey} (running: ${started.wasmPaths ?? "ORT's default"})`);
    }
    if (wanted.proxy !== undefined && wanted.proxy !== (started.proxy ?? false)) {
      conflicts.push(`proxy ${wanted.proxy} (running: ${started.proxy ?? false})`);
    }
    if (conflicts.length > 0) {
      throw new BackendError(
        `onnxruntime-web's WebAssembly runtime has already started, and reads its threads, file paths and proxy setting only once per page: ` +
          `cannot apply ${conflicts.join(', ')}. Create every web backend with the same settings, before the first model loads`,
        { details: { option: conflicts.map((c) => c.split(' ')[0]).join(',') } },
      );
    }
    return started;
  }
  const wasm = ort.env.wasm;
  if (wanted.numThreads !== undefined) {
    // 0 = ORT's own choice, which it makes when the value is unset.
    if (wanted.numThreads > 0) wasm.numThreads = wanted.numThreads;
  } else if (wasm.numThreads === undefined && !crossOriginIsolated()) {
    // Without cross-origin isolation there is no SharedArrayBuffer in browsers, hence no threads.
    // Node has no such notion: one thread there too, which keeps runs deterministic and avoids
    // worker threads the caller did not ask for.
    wasm.numThreads = 1;
  }
  if (wanted.wasmPaths !== undefined) wasm.wasmPaths = wanted.wasmPaths;
  if (wanted.proxy !== undefined) wasm.proxy = wanted.proxy;
  else if (wanted.defaultProxy !== undefined && wasm.proxy === undefined) wasm.proxy = wanted.defaultProxy;
  started = {
    numThreads: typeof wasm.numThreads === 'number' && wasm.numThreads > 0 ? wasm.numThreads : undefined,
    wasmPaths: wasm.wasmPaths === undefined ? undefined : JSON.stringify(wasm.wasmPaths),
    proxy: wasm.proxy,
  };
  return started;
}

async function openSession(
  ort: Ort,
  onnx: Uint8Array,
  options: SessionOptions,
  device: Exclude<Device, 'cuda'>,
  webgpu: boolean,
): Promise<OrtSession> {
  const base: OrtModule.InferenceSession.SessionOptions = {
    // Our four levels are ORT's names; ORT Web's 'layout' level has no counterpart in core.
    graphOptimizationLevel: options.graphOptimization ?? 'all',
    logSeverityLevel: LOG_SEVERITY_ERROR,
  };
  const create = (providers: string[]): Promise<OrtSession> =>
    ort.InferenceSession.create(onnx, { ...base, executionProviders: providers });

  if (device === 'auto') {
    if (webgpu) {
      try {
        return await create(['webgpu', 'wasm']);
      } catch {
        // WebGPU that fails to start (device lost, unsupported feature, a build without it) leaves WebAssembly.
      }
    }
    return wrapCreate(() => create(['wasm']), 'cpu');
  }
  return webgpu ? wrapCreate(() => create(['webgpu']), 'webgpu') : wrapCreate(() => create(['wasm']), 'cpu');
}

async function wrapCreate(create: () => Promise<OrtSession>, device: 'cpu' | 'webgpu'): Promise<OrtSession> {
  try {
    return await create();
  } catch (error) {
    const text = messageOf(error);
    const hint = /\.wasm|\.mjs|fetch|WebAssembly\.instantiate|no available backend/i.test(text)
      ? ' (if the runtime files could not load: serve onnxruntime-web\'s dist/*.wasm and *.mjs and point the wasmPaths option at them)'
      : '';
    const what = device === 'cpu' ? 'Could not create an ONNX Runtime Web session on WebAssembly' : 'Could not create an ONNX Runtime Web session on WebGPU';
    throw new BackendError(`${what}: ${text}${hint}`, { cause: error, details: { device } });
  }
}

/** Why WebGPU cannot run here, or undefined where an adapter is available. */
async function webGpuProblem(): Promise<string | undefined> {
  const nav = (globalThis as { navigator?: { gpu?: NavigatorGpu } }).navigator;
  const gpu = nav?.gpu;
  if (!gpu || typeof gpu.requestAdapter !== 'function') {
    return (
      'WebGPU is not supported in this environment (navigator.gpu is missing): it needs a browser with WebGPU enabled ' +
      'and a secure context (https or localhost); use device "cpu" or "auto"'
    );
  }
  try {
    const adapter = await gpu.requestAdapter();
    if (adapter == null) {
      return 'WebGPU is supported but no GPU adapter is available (navigator.gpu.requestAdapter() returned null: the GPU may be blocklisted or disabled); use device "cpu" or "auto"';
    }
  } catch (error) {
    return `WebGPU is supported but requesting a GPU adapter failed: ${messageOf(error)}`;
  }
  return undefined;
}

/**
 * The proxy default: on for a page's main thread (a `document` and Web Workers exist) where the
 * runtime will serve WebAssembly. Undefined elsewhere: ORT's own default (off).
 */
export function defaultProxy(webgpu: boolean, scope: { document?: unknown; Worker?: unknown } = globalThis as never): boolean | undefined {
  if (webgpu) return undefined;
  return typeof scope.document === 'object' && scope.document !== null && typeof scope.Worker === 'function' ? true : undefined;
}

function crossOriginIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

function validateOptions(options: WebBackendOptions): void {
  const { threads, numThreads, graphOptimization, device, wasmPaths, proxy } = options;
  validateThreads('threads', threads);
  validateThreads('numThreads', numThreads);
  if (threads !== undefined && numThreads !== undefined && threads !== numThreads) {
    throw new InvalidOptionError(
      `Options threads (${threads}) and numThreads (${numThreads}) are the same setting for the web backend; give one, or equal values`,
      { details: { option: 'numThreads' } },
    );
  }
  validateCommonOptions({ graphOptimization, device });
  if (proxy !== undefined && typeof proxy !== 'boolean') {
    throw new InvalidOptionError(`Option proxy must be a boolean, got ${JSON.stringify(proxy)}`, { details: { option: 'proxy' } });
  }
  if (wasmPaths !== undefined) validateWasmPaths(wasmPaths);
}

function validateWasmPaths(wasmPaths: unknown): void {
  const fail = (expected: string): never => {
    throw new InvalidOptionError(`Option wasmPaths must be ${expected}, got ${JSON.stringify(wasmPaths)}`, {
      details: { option: 'wasmPaths' },
    });
  };
  if (typeof wasmPaths === 'string') {
    // ORT appends file names to the prefix as they are: without the slash they would run together.
    if (!wasmPaths.endsWith('/')) fail('a URL prefix ending in "/" (for example "/ort/" or "https://cdn.example/ort/")');
    return;
  }
  if (typeof wasmPaths !== 'object' || wasmPaths === null || Array.isArray(wasmPaths)) {
    fail('a URL prefix string or an object { wasm?, mjs? } of URL strings');
  }
  const entries = Object.entries(wasmPaths as Record<string, unknown>);
  const bad = entries.filter(
    ([key, value]) => !(WASM_PATH_KEYS as readonly string[]).includes(key) || typeof value !== 'string' || value === '',
  );
  if (bad.length > 0 || entries.length === 0) fail('an object { wasm?, mjs? } of non-empty URL strings (one at least)');
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return true;
  // Browsers without an import map: "Failed to resolve module specifier" (Chromium), "The specifier ... was a bare specifier" (Firefox).
  return /Failed to resolve module specifier|bare specifier|Cannot find (module|package) 'onnxruntime-web'/i.test(messageOf(error));
}

