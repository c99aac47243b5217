/**
 * Opening an onnxruntime-node session in the current thread: provider choice, CUDA checks and
 * typed errors. Runs inside the inference workers (ONNX Runtime's run() blocks its thread).
 * onnxruntime-node is an optional peer dependency, imported on first use.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BackendError, type Device, type SessionOptions } from '@superres/core';
import { LOG_SEVERITY_ERROR, messageOf } from '../runtime/ort-common.js';
import type * as OrtModule from 'onnxruntime-node';

export type Ort = typeof OrtModule;
export type OrtSession = OrtModule.InferenceSession;

const CUDA_MISSING =
  'the CUDA execution provider libraries (libonnxruntime_providers_cuda, libonnxruntime_providers_shared) are missing or cannot load. ' +
  'onnxruntime-node downloads them at install time: reinstall it with ONNXRUNTIME_NODE_INSTALL=cuda12, and make the CUDA 12 and cuDNN 9 libraries loadable';

let ortPromise: Promise<Ort> | undefined;

/** Imports onnxruntime-node once; a failed import is retried on the next call. */
export function loadOrt(): Promise<Ort> {
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

export async function openSession(ort: Ort, onnx: Uint8Array, options: SessionOptions): Promise<OrtSession> {
  const device = options.device ?? 'cpu';
  const base: OrtModule.InferenceSession.SessionOptions = {
    graphOptimizationLevel: options.graphOptimization ?? 'all',
    logSeverityLevel: LOG_SEVERITY_ERROR,
    // Tiles come in several shapes (edge tiles are smaller) and ORT keeps a planned block per
    // input shape: off, the 8000x6000 upscale peaked 25-30% lower at the same speed (BENCHMARKS.md).
    enableMemPattern: false,
    ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
    ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
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

function providerLabel(device: 'cuda' | 'webgpu' | 'cpu'): string {
  return { cuda: 'CUDA execution provider', webgpu: 'WebGPU execution provider', cpu: 'CPU execution provider' }[device];
}


export interface RuntimeReport {
  /** onnxruntime-node's version. */
  version: string;
  /** Execution providers this build knows, and whether each can be used here. */
  providers: { name: string; usable: boolean; fix?: string }[];
}

/** What ONNX Runtime offers on this machine (for `superres doctor`); loads onnxruntime-node in this thread. */
export async function runtimeReport(): Promise<RuntimeReport> {
  const ort = await loadOrt();
  const versions = (ort.env as { versions?: Record<string, string> }).versions ?? {};
  const providers = ort.listSupportedBackends().map((b) => {
    if (b.name === 'cuda') {
      const usable = cudaInstalled(ort);
      return usable ? { name: b.name, usable } : { name: b.name, usable, fix: CUDA_MISSING };
    }
    // Providers that come with the build are usable as far as files go; the others need libraries superres does not check.
    return b.bundled ? { name: b.name, usable: true } : { name: b.name, usable: false, fix: `onnxruntime-node lists ${b.name} but does not ship it: superres does not use it` };
  });
  return { version: versions.node ?? versions.common ?? 'unknown', providers };
}
