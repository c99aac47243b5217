/**
 * --face-model, --face-detector and --face-parser name a model id or a checkpoint file, with the
 * rule --model follows: an existing file wins; a name that looks like a path but is no file is an
 * error rather than an unknown id.
 */
import { stat } from 'node:fs/promises';
import { ModelNotFoundError } from '@superres/core';
import { loadFaceModels, type FaceModelRef, type LoadedFaceModels, type ModelStore } from '@superres/models/node';
import type { FaceFlags } from '../options.js';
import { progressPrinter, storeFor } from './models.js';

export interface FaceOpenFlags {
  modelsDir?: string;
  threads?: number;
  device?: 'cpu' | 'cuda' | 'webgpu' | 'auto';
  quiet: boolean;
}

export async function faceRef(flag: string, name: string, store: ModelStore): Promise<FaceModelRef> {
  if (await stat(name).then((s) => s.isFile(), () => false)) return { file: name };
  if (!(await store.has(name)) && /[\\/]|\.(pth|pt|onnx|safetensors)$/i.test(name)) {
    throw new ModelNotFoundError(`${flag} ${name}: no such file, and no model with that id`, { details: { id: name } });
  }
  return name;
}

export async function openFaceModels(faces: FaceFlags, flags: FaceOpenFlags, io: { log(line: string): void; signal?: AbortSignal }): Promise<LoadedFaceModels> {
  const store = storeFor(flags.modelsDir);
  return loadFaceModels({
    store,
    restorer: await faceRef('--face-model', faces.restorer, store),
    detector: await faceRef('--face-detector', faces.detector, store),
    parser: faces.parser === undefined ? false : await faceRef('--face-parser', faces.parser, store),
    threads: flags.threads,
    device: flags.device,
    ...(io.signal ? { signal: io.signal } : {}),
    ...(flags.quiet ? {} : { onProgress: progressPrinter(io.log) }),
  });
}
