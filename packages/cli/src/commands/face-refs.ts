/** --face-model, --face-detector and --face-parser: each a model id or a checkpoint file (model-ref.ts). */
import { loadFaceModels, type LoadedFaceModels } from '@superres/models/node';
import { modelRef } from '../model-ref.js';
import type { FaceFlags } from '../options.js';
import { progressPrinter, storeFor } from './models.js';

export interface FaceOpenFlags {
  modelsDir?: string;
  threads?: number;
  device?: 'cpu' | 'cuda' | 'webgpu' | 'auto';
  quiet: boolean;
}

export async function openFaceModels(faces: FaceFlags, flags: FaceOpenFlags, io: { log(line: string): void; signal?: AbortSignal }): Promise<LoadedFaceModels> {
  const store = storeFor(flags.modelsDir);
  return loadFaceModels({
    store,
    restorer: await modelRef('--face-model', faces.restorer, store),
    detector: await modelRef('--face-detector', faces.detector, store),
    parser: faces.parser === undefined ? false : await modelRef('--face-parser', faces.parser, store),
    threads: flags.threads,
    device: flags.device,
    ...(io.signal ? { signal: io.signal } : {}),
    ...(flags.quiet ? {} : { onProgress: progressPrinter(io.log) }),
  });
}
