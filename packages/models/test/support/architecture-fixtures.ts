// What the per-architecture fidelity tests (span, plksr, omnisr, swinir, hat) share: the fixture
// pixels' checksum, the input image, a state dict with one tensor reshaped, and one model load per
// checkpoint and backend (Node from the file, web from the bytes), released after the file's tests.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type Image, type LoadedModel } from '@superres/core';
import { pluginFromCheckpoint, type ArchitectureOverrides } from '@superres/models';
import { loadModelFile } from '@superres/models/node';
import { createWebBackend } from '@superres/models/web';
import type { StateDict } from '../../src/checkpoint/types.js';
import { readRgb } from './images.js';

export type BackendName = 'node' | 'web';

export const pixelsSha256 = (data: Uint8Array | Uint16Array): string =>
  createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');

/** The fixture folder's input image, decoded once. */
export function fixtureInput(dir: string, file: string): () => Promise<Image> {
  let image: Promise<Image> | undefined;
  return () => (image ??= readRgb(join(dir, file)));
}

/** The state dict with one tensor's shape (and data) replaced. */
export function reshaped(stateDict: StateDict, name: string, shape: number[]): StateDict {
  if (!stateDict.has(name)) throw new Error(`no tensor ${name}`);
  const out: StateDict = new Map(stateDict);
  out.set(name, { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  return out;
}

interface FixtureCheckpoint {
  file: string;
  network: string;
  load_options?: ArchitectureOverrides;
}

/** One load per checkpoint and backend, shared by its runs; a load error fails each of its tests. */
export function fixtureModels(dir: string) {
  const webBackend = createWebBackend({ numThreads: 1 });
  const loads = new Map<string, Promise<LoadedModel>>();
  return {
    model(entry: FixtureCheckpoint, backend: BackendName): Promise<LoadedModel> {
      const key = `${backend}:${entry.file}`;
      let loaded = loads.get(key);
      if (!loaded) {
        const options = entry.load_options ?? {};
        loaded =
          backend === 'node'
            ? loadModelFile(join(dir, entry.file), { threads: 2, ...options })
            : (async () => {
                const bytes = new Uint8Array(readFileSync(join(dir, entry.file)));
                return loadModel(pluginFromCheckpoint(entry.network, bytes, options), bytes, webBackend);
              })();
        loaded.catch(() => undefined);
        loads.set(key, loaded);
      }
      return loaded;
    },
    async releaseAll(): Promise<void> {
      for (const loaded of loads.values()) await loaded.then((m) => m.release(), () => undefined);
    },
  };
}
