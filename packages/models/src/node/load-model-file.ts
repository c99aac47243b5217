import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { fromSession, type LoadedModel, type ModelKind, type SessionOptions, type AbortSignalLike, throwIfAborted } from '@superres/core';
import { detectModelFormat } from '../plugins/detect-format.js';
import { pluginFromOnnx } from '../plugins/file-plugin.js';
import { probeOnnxGeometry } from '../plugins/probe-onnx.js';
import type { ArchitectureOverrides } from '../architectures/detect.js';
import { createNodeBackend } from './backend.js';
import { isNcnnParamPath, readNcnnFiles } from './ncnn-files.js';
import { checkKind, type OpenedModel } from './load-catalog-model.js';
import { sharedWorkerPool } from './pool/shared-pool.js';
import type { WorkerPool } from './pool/worker-pool.js';

export interface LoadModelFileOptions extends SessionOptions, ArchitectureOverrides {
  signal?: AbortSignalLike;
  /** Id to report; default: the file name without extension. */
  id?: string;
  /** The workers that convert and run it; default: the process's shared pool. */
  pool?: WorkerPool;
}

/**
 * Opens a `.pth`/`.safetensors` checkpoint, an `.onnx` model, or an ncnn `.param` (with its
 * `.bin` beside it) from disk as a ready-to-run model. Checkpoints and ncnn models are read and
 * converted in a worker, never in the caller's thread.
 */
export async function loadModelFile(path: string, options: LoadModelFileOptions = {}): Promise<LoadedModel> {
  const { plugin, session } = await openModelFile(path, 'upscaler', options);
  return fromSession(plugin, session);
}

/** Like loadModelFile, for a checkpoint of any kind (ONNX files: upscalers only); refuses one that is not a `kind`. */
export async function openModelFile(path: string, kind: ModelKind, options: LoadModelFileOptions = {}): Promise<OpenedModel> {
  const { signal, id: givenId, pool: givenPool, threads, device, graphOptimization, ...overrides } = options;
  const bytes = new Uint8Array(await readFile(path));
  throwIfAborted(signal);
  const id = givenId ?? basename(path, extname(path));
  const pool = givenPool ?? sharedWorkerPool();
  const session: SessionOptions = { threads, device, graphOptimization };
  const backend = createNodeBackend({ ...session, pool });
  const format = detectModelFormat(bytes);
  if (format === 'ncnn' || (format === 'unknown' && isNcnnParamPath(path))) {
    // Converted in a worker; its geometry comes from the graph, so nothing needs probing.
    checkKind({ id, kind: 'upscaler' }, kind);
    const files = await readNcnnFiles(path, bytes);
    throwIfAborted(signal);
    const { onnx, geometry } = await pool.convertNcnn({ kind: 'ncnn', param: files.param, bin: files.bin }, { signal });
    const plugin = { id, kind: 'upscaler' as const, description: `ncnn model x${geometry.scale}`, ...geometry, toOnnx: async () => onnx };
    return { plugin, session: await backend.createSession(onnx, session) };
  }
  if (format === 'onnx') {
    // A foreign ONNX graph says nothing of what it does: it is taken as an upscaler and probed.
    checkKind({ id, kind: 'upscaler' }, kind);
    const opened = await backend.createSession(bytes);
    try {
      const geometry = await probeOnnxGeometry(opened);
      return { plugin: pluginFromOnnx(id, geometry), session: opened };
    } catch (error) {
      await opened.release();
      throw error;
    }
  }
  const { onnx, built } = await pool.convert({ kind: 'checkpoint', bytes, overrides }, { signal });
  checkKind({ id, kind: built!.kind }, kind);
  const plugin = { id, kind: built!.kind, ...built!.geometry, toOnnx: async () => onnx };
  return { plugin, session: await backend.createSession(onnx, session) };
}
