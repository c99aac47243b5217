/**
 * InferenceBackend on onnxruntime-node. The runtime is an optional peer dependency, imported on
 * the first createSession so that merely importing this module never loads a native addon.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  BackendError,
  InvalidOptionError,
  throwIfAborted,
  type Device,
  type GraphOptimizationLevel,
  type InferenceBackend,
  type InferenceSession,
  type RunOptions,
  type SessionOptions,
  type Tensor,
} from '@superres/core';
import type * as OrtModule from 'onnxruntime-node';

type Ort = typeof OrtModule;
type OrtSession = OrtModule.InferenceSession;

const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu', 'auto'];
const OPTIMIZATION_LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];
/** ORT severity 3 = error: keeps ORT's own warnings off the host's stderr. */
const LOG_SEVERITY_ERROR = 3;

const CUDA_MISSING =
  'the CUDA execution provider libraries (libonnxruntime_providers_cuda, libonnxruntime_providers_shared) are missing or cannot load. ' +
  'onnxruntime-node downloads them at install time: reinstall it with ONNXRUNTIME_NODE_INSTALL=cuda12, and make the CUDA 12 and cuDNN 9 libraries loadable';

let ortPromise: Promise<Ort> | undefined;

/** Imports onnxruntime-node once; a failed import is retried on the next call. */
function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').catch((error: unknown) => {
    ortPromise = undefined;
    const missing = (error as { code?: string } | null)?.code === 'ERR_MODULE_NOT_FOUND';
    throw new BackendError(
      missing
        ? 'The Node backend needs onnxruntime-node: install it next to @superres/models (npm install onnxruntime-node)'
        : `onnxruntime-node is installed but could not be loaded: ${messageOf(error)}`,
      { cause: error },
    );
  });
  return ortPromise;
}

/** Creates sessions on onnxruntime-node; `defaults` apply where createSession's options are silent. */
export function createNodeBackend(defaults: SessionOptions = {}): InferenceBackend {
  validateSessionOptions(defaults);
  return {
    name: 'onnxruntime-node',
    async createSession(onnx: Uint8Array, options: SessionOptions = {}): Promise<InferenceSession> {
      validateSessionOptions(options);
      const merged = { ...defaults, ...definedOnly(options) };
      const ort = await loadOrt();
      const session = await openSession(ort, onnx, merged);
      return wrapSession(ort, session);
    },
  };
}

async function openSession(ort: Ort, onnx: Uint8Array, options: SessionOptions): Promise<OrtSession> {
  const device = options.device ?? 'cpu';
  const base: OrtModule.InferenceSession.SessionOptions = {
    graphOptimizationLevel: options.graphOptimization ?? 'all',
    logSeverityLevel: LOG_SEVERITY_ERROR,
    ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
  };
  const create = (providers: string[]): Promise<OrtSession> =>
    ort.InferenceSession.create(onnx, { ...base, executionProviders: providers });

  if (device === 'auto') {
    // CUDA only where its provider libraries are really there; otherwise the CPU, quietly.
    if (cudaInstalled(ort)) {
      try {
        return await create(['cuda']);
      } catch {
        // A CUDA provider that fails to start (no driver, no GPU) leaves the CPU.
      }
    }
    return wrapCreate(() => create(['cpu']), 'cpu');
  }
  if (device === 'cuda' || device === 'webgpu') {
    const listed = ort.listSupportedBackends().map((b) => b.name);
    if (!listed.includes(device)) {
      throw new BackendError(
        `Device "${device}" is not available: this onnxruntime-node build has no ${providerLabel(device)} (it supports: ${listed.join(', ')})`,
        { details: { device, supported: listed } },
      );
    }
    // Checked up front: ORT would print its own failure to stderr before throwing.
    if (device === 'cuda' && !cudaInstalled(ort)) {
      throw new BackendError(`Device "cuda" is not available: ${CUDA_MISSING}`, { details: { device } });
    }
  }
  return wrapCreate(() => create([device]), device);
}

async function wrapCreate(create: () => Promise<OrtSession>, device: Exclude<Device, 'auto'>): Promise<OrtSession> {
  try {
    return await create();
  } catch (error) {
    const text = messageOf(error);
    const hint =
      device === 'cuda' && /shared library|cannot open shared object|providers_(cuda|shared)/i.test(text)
        ? `: ${CUDA_MISSING}`
        : '';
    const what = device === 'cpu' ? 'Could not create an ONNX Runtime session' : `Could not create an ONNX Runtime session on ${providerLabel(device)}`;
    throw new BackendError(`${what}${hint}: ${text}`, { cause: error, details: { device } });
  }
}

function wrapSession(ort: Ort, session: OrtSession): InferenceSession {
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  let released = false;
  return {
    async run(input: Tensor, options: RunOptions = {}): Promise<Tensor> {
      throwIfAborted(options.signal);
      if (released) throw new BackendError('The inference session has been released');
      if (inputName === undefined || outputName === undefined) {
        throw new BackendError('The ONNX graph has no input or no output');
      }
      let result: OrtModule.InferenceSession.OnnxValueMapType;
      try {
        const feed = new ort.Tensor('float32', input.data, [...input.dims]);
        result = await session.run({ [inputName]: feed });
      } catch (error) {
        throw new BackendError(`ONNX Runtime inference failed: ${messageOf(error)}`, { cause: error });
      }
      throwIfAborted(options.signal);
      const output = result[outputName];
      if (!output || !(output.data instanceof Float32Array)) {
        throw new BackendError(`The graph's output "${outputName}" is not a float32 tensor (got ${output?.type ?? 'nothing'})`);
      }
      return { data: output.data, dims: output.dims };
    },
    async release(): Promise<void> {
      if (released) return;
      released = true;
      try {
        await session.release();
      } catch (error) {
        throw new BackendError(`Could not release the ONNX Runtime session: ${messageOf(error)}`, { cause: error });
      }
    },
  };
}

/** Whether CUDA is in this build and its provider library is on disk (it is downloaded at install). */
function cudaInstalled(ort: Ort): boolean {
  const cuda = ort.listSupportedBackends().find((b) => b.name === 'cuda');
  if (!cuda) return false;
  if (cuda.bundled) return true;
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    const folder = join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
    const files =
      process.platform === 'win32'
        ? ['onnxruntime_providers_shared.dll', 'onnxruntime_providers_cuda.dll']
        : ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
    return files.every((file) => existsSync(join(folder, file)));
  } catch {
    return false;
  }
}

function validateSessionOptions(options: SessionOptions): void {
  const { threads, graphOptimization, device } = options;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 0)) {
    throw new InvalidOptionError(`Option threads must be a non-negative integer (0 = runtime default), got ${JSON.stringify(threads)}`, {
      details: { option: 'threads' },
    });
  }
  if (graphOptimization !== undefined && !OPTIMIZATION_LEVELS.includes(graphOptimization)) {
    throw new InvalidOptionError(
      `Option graphOptimization must be one of ${OPTIMIZATION_LEVELS.join(', ')}, got ${JSON.stringify(graphOptimization)}`,
      { details: { option: 'graphOptimization' } },
    );
  }
  if (device !== undefined && !DEVICES.includes(device)) {
    throw new InvalidOptionError(`Option device must be one of ${DEVICES.join(', ')}, got ${JSON.stringify(device)}`, {
      details: { option: 'device' },
    });
  }
}

function definedOnly(options: SessionOptions): SessionOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as SessionOptions;
}

function providerLabel(device: 'cuda' | 'webgpu' | 'cpu'): string {
  return { cuda: 'CUDA execution provider', webgpu: 'WebGPU execution provider', cpu: 'CPU execution provider' }[device];
}

function messageOf(error: unknown): string {
  // ORT messages can carry ANSI colour codes from its logger.
  const text = error instanceof Error ? error.message : String(error);
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').trim();
}
