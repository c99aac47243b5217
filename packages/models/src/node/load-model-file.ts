import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { fromSession, type LoadedModel, type SessionOptions, type AbortSignalLike, throwIfAborted } from '@superres/core';
import { detectModelFormat } from '../plugins/detect-format.js';
import { pluginFromCheckpoint, pluginFromOnnx } from '../plugins/file-plugin.js';
import { probeOnnxGeometry } from '../plugins/probe-onnx.js';
import type { ArchitectureOverrides } from '../architectures/detect.js';
import { createNodeBackend } from './backend.js';

export interface LoadModelFileOptions extends SessionOptions, ArchitectureOverrides {
  signal?: AbortSignalLike;
  /** Id to report; default: the file name without extension. */
  id?: string;
}

/** Opens a `.pth` checkpoint or an `.onnx` model from disk as a ready-to-run model. */
export async function loadModelFile(path: string, options: LoadModelFileOptions = {}): Promise<LoadedModel> {
  const bytes = new Uint8Array(await readFile(path));
  throwIfAborted(options.signal);
  const id = options.id ?? basename(path, extname(path));
  const backend = createNodeBackend(options);
  if (detectModelFormat(bytes) === 'onnx') {
    const session = await backend.createSession(bytes, options);
    try {
      const geometry = await probeOnnxGeometry(session);
      return fromSession(pluginFromOnnx(id, geometry), session);
    } catch (error) {
      await session.release();
      throw error;
    }
  }
  const plugin = pluginFromCheckpoint(id, bytes, options);
  const session = await backend.createSession(await plugin.toOnnx(bytes), options);
  return fromSession(plugin, session);
}
