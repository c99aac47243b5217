import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { fromSession, type LoadedModel, type SessionOptions, type AbortSignalLike, throwIfAborted } from '@superres/core';
import { detectModelFormat } from '../plugins/detect-format.js';
import { pluginFromOnnx } from '../plugins/file-plugin.js';
import { probeOnnxGeometry } from '../plugins/probe-onnx.js';
import type { ArchitectureOverrides } from '../architectures/detect.js';
import { createNodeBackend } from './backend.js';
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
 * Opens a `.pth`/`.safetensors` checkpoint or an `.onnx` model from disk as a ready-to-run model.
 * The checkpoint is read and converted in a worker, never in the caller's thread.
 */
export async function loadModelFile(path: string, options: LoadModelFileOptions = {}): Promise<LoadedModel> {
  const { signal, id: givenId, pool: givenPool, threads, device, graphOptimization, ...overrides } = options;
  const bytes = new Uint8Array(await readFile(path));
  throwIfAborted(signal);
  const id = givenId ?? basename(path, extname(path));
  const pool = givenPool ?? sharedWorkerPool();
  const session: SessionOptions = { threads, device, graphOptimization };
  const backend = createNodeBackend({ ...session, pool });
  if (detectModelFormat(bytes) === 'onnx') {
    const opened = await backend.createSession(bytes);
    try {
      const geometry = await probeOnnxGeometry(opened);
      return fromSession(pluginFromOnnx(id, geometry), opened);
    } catch (error) {
      await opened.release();
      throw error;
    }
  }
  const { onnx, built } = await pool.convert({ kind: 'checkpoint', bytes, overrides }, { signal });
  return fromSession({ id, ...built!.geometry }, await backend.createSession(onnx));
}
