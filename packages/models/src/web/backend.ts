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
 *
 * What runs is not always what was asked: WebAssembly threads need cross-origin isolation, and
 * device 'auto' falls back to WebAssembly. `backend.report()` says what the latest session runs
 * with (device, threads, proxy) and, in `reduced`, why it is less than asked.
 */
import {
  BackendError,
  InvalidOptionError,
  type BackendReport,
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
   * headers): without it, more than one asked for runs one, and `report().reduced` says why.
   * Default: 1 unless `crossOriginIsolated`, then ORT's choice (half the cores, at most 4);
   * 0 = ORT's choice.
   */
  numThreads?: number;
  /**
   * Run the WebAssembly runtime in a Web Worker so inference does not block the page. Default: on
   * when the runtime starts on a browser page's main thread (WebAssembly's run() blocks the thread
   * that calls it, as onnxruntime-node's does), off in workers and in Node. WebGPU sessions run
   * on the page's thread either way (ORT's proxy serves WebAssembly only); their work is on the GPU.
   */
  proxy?: boolean;
  /**
   * Loads onnxruntime-web's module. Default: `import('onnxruntime-web')` (WebAssembly and WebGPU).
   * `() => import('onnxruntime-web/wasm')` takes its WebAssembly-only build: about 85 KB less
   * JavaScript (gzipped) and half the .wasm download, for pages that do not use WebGPU (device
   * 'auto' then reports WebAssembly and why). The runtime loads once per page or worker: the first
   * session's loader holds.
   */
  runtime?: () => Promise<unknown>;
}

/** The onnxruntime-web backend: an InferenceBackend that says what its runtime really runs with. */
export interface WebBackend extends InferenceBackend {
  /**
   * What the latest session of this backend runs with: `device` 'wasm' or 'webgpu' (device 'auto'
   * that fell back to WebAssembly says 'wasm'), the WebAssembly `threads` of the page's runtime
   * next to `requestedThreads`, whether runs go through the `proxy` worker, and in `reduced` why
   * fewer threads or another device than asked. Undefined before the first session.
   */
  report(): BackendReport | undefined;
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
function loadOrt(load: () => Promise<unknown> = () => import('onnxruntime-web')): Promise<Ort> {
  ortPromise ??= (load() as Promise<Ort>).catch((error: unknown) => {
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
export function createWebBackend(defaults: WebBackendOptions = {}): WebBackend {
  validateOptions(defaults);
  const { wasmPaths, numThreads, proxy, runtime, ...sessionDefaults } = defaults;
  let latest: BackendReport | undefined;
  return {
    name: 'onnxruntime-web',
    report: () => (latest === undefined ? undefined : { ...latest }),
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
      let gpuProblem: string | undefined;
      if (device === 'webgpu') {
        const problem = await webGpuProblem();
        if (problem !== undefined) {
          throw new BackendError(`Device "webgpu" is not available: ${problem}; use device "cpu" or "auto"`, { details: { device } });
        }
        webgpu = true;
      } else if (device === 'auto') {
        gpuProblem = await webGpuProblem();
        webgpu = gpuProblem === undefined;
      }
      // `threads` passed to this session wins over the backend's numThreads, as any session option does.
      const threads = options.threads ?? numThreads ?? sessionDefaults.threads;
      // Without SharedArrayBuffer ORT would warn on the console and run one thread anyway: ask for
      // the one thread that can run, and say why in the report.
      const noThreads = threads !== undefined && threads > 1 ? wasmThreadsProblem() : undefined;
      const ort = await loadOrt(runtime);
      const settings = configureWasm(ort, {
        numThreads: noThreads === undefined ? threads : 1,
        wasmPaths,
        proxy,
        defaultProxy: defaultProxy(webgpu),
      });
      // The proxy worker takes ownership of (detaches) the model's buffer: hand it a copy.
      const bytes = settings.proxy === true ? onnx.slice() : onnx;
      const opened = await openSession(ort, bytes, merged, device, webgpu);
      const running = runningThreads(ort, settings);
      const reduced = [
        device === 'auto' && opened.device === 'wasm'
          ? `device "auto" runs on WebAssembly: ${opened.fallback ?? gpuProblem ?? 'WebGPU is not available'}`
          : undefined,
        threads !== undefined && threads > 1 && running !== undefined && running < threads
          ? `${threads} WebAssembly threads were asked for, ${running} ${running === 1 ? 'runs' : 'run'}: ` +
            (noThreads ?? 'ONNX Runtime Web found no WebAssembly thread support here')
          : undefined,
      ].filter((reason) => reason !== undefined);
      latest = {
        device: opened.device,
        requestedDevice: device,
        threads: running,
        requestedThreads: threads,
        proxy: settings.proxy === true && hasDocument(),
        ...(reduced.length > 0 ? { reduced: reduced.join('; ') } : {}),
      };
      return wrapOrtSession(opened.session, {
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

/** An ORT session, where it runs, and why not on WebGPU when device 'auto' had an adapter. */
interface OpenedSession {
  session: OrtSession;
  device: 'wasm' | 'webgpu';
  fallback?: string;
}

async function openSession(
  ort: Ort,
  onnx: Uint8Array,
  options: SessionOptions,
  device: Exclude<Device, 'cuda'>,
  webgpu: boolean,
): Promise<OpenedSession> {
  const base: OrtModule.InferenceSession.SessionOptions = {
    // Our four levels are ORT's names; ORT Web's 'layout' level has no counterpart in core.
    graphOptimizationLevel: options.graphOptimization ?? 'all',
    logSeverityLevel: LOG_SEVERITY_ERROR,
  };
  const create = (providers: string[]): Promise<OrtSession> =>
    ort.InferenceSession.create(onnx, { ...base, executionProviders: providers });

  if (device === 'auto') {
    let fallback: string | undefined;
    if (webgpu) {
      // WebGPU alone, not ['webgpu', 'wasm']: given both, ORT drops a WebGPU that fails to start
      // with a console warning and no word to us. Operators WebGPU lacks run on the CPU either way.
      try {
        return { session: await create(['webgpu']), device: 'webgpu' };
      } catch (error) {
        // WebGPU that fails to start (device lost, unsupported feature, a build without it) leaves WebAssembly.
        fallback = `WebGPU could not start a session: ${messageOf(error)}`;
      }
    }
    const session = await wrapCreate(() => create(['wasm']), 'cpu');
    return fallback === undefined ? { session, device: 'wasm' } : { session, device: 'wasm', fallback };
  }
  return webgpu
    ? { session: await wrapCreate(() => create(['webgpu']), 'webgpu'), device: 'webgpu' }
    : { session: await wrapCreate(() => create(['wasm']), 'cpu'), device: 'wasm' };
}

/** WebAssembly threads the runtime runs with: ORT writes its choice (or its fallback to 1) to env.wasm.numThreads. */
function runningThreads(ort: Ort, settings: WasmSettings): number | undefined {
  const threads = ort.env.wasm.numThreads;
  return typeof threads === 'number' && Number.isInteger(threads) && threads > 0 ? threads : settings.numThreads;
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
      'and a secure context (https or localhost)'
    );
  }
  try {
    const adapter = await gpu.requestAdapter();
    if (adapter == null) {
      return 'WebGPU is supported but no GPU adapter is available (navigator.gpu.requestAdapter() returned null: the GPU may be blocklisted or disabled)';
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

/**
 * Why WebAssembly threads cannot run here, or undefined where they can: they need
 * SharedArrayBuffer, which browsers give only to cross-origin isolated pages. A scope that says
 * it is not isolated (`crossOriginIsolated === false`: every browser page and worker that is not)
 * or has no SharedArrayBuffer runs one thread. Node has no `crossOriginIsolated` and has
 * SharedArrayBuffer: threads run there.
 */
export function wasmThreadsProblem(
  scope: { crossOriginIsolated?: unknown; SharedArrayBuffer?: unknown } = globalThis as never,
): string | undefined {
  const fix =
    'serve the page with the headers Cross-Origin-Opener-Policy: same-origin and ' +
    'Cross-Origin-Embedder-Policy: require-corp (or credentialless)';
  if (scope.crossOriginIsolated === false) {
    return `the page is not cross-origin isolated (COOP/COEP), and WebAssembly threads need the SharedArrayBuffer only isolated pages get: ${fix}`;
  }
  if (typeof scope.SharedArrayBuffer !== 'function') {
    return `SharedArrayBuffer is not available, and WebAssembly threads need it; browsers give it only to cross-origin isolated pages (COOP/COEP): ${fix}`;
  }
  return undefined;
}

/** ORT's own test for its proxy worker: a page (a document), not a worker or Node. */
function hasDocument(): boolean {
  return typeof (globalThis as { document?: unknown }).document !== 'undefined';
}

function crossOriginIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

function validateOptions(options: WebBackendOptions): void {
  const { threads, numThreads, graphOptimization, device, wasmPaths, proxy, runtime } = options;
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
  if (runtime !== undefined && typeof runtime !== 'function') {
    throw new InvalidOptionError('Option runtime must be a function that imports onnxruntime-web', { details: { option: 'runtime' } });
  }
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

