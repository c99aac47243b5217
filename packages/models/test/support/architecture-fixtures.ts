// What the per-architecture fidelity tests (span, plksr, omnisr, swinir, hat, dat) share: the fixture
// pixels' checksum, the input image, a state dict with one tensor reshaped, one model load per
// checkpoint and backend (Node from the file, web from the bytes), released after the file's tests,
// and one run checked against the output PyTorch computed.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadModel, upscale, type Image, type LoadedModel } from '@superres/core';
import { pluginFromCheckpoint, type ArchitectureOverrides } from '@superres/models';
import { loadModelFile } from '@superres/models/node';
import { createWebBackend } from '@superres/models/web';
import type { StateDict } from '../../src/checkpoint/types.js';
import { maxAbsDiff, readRgb } from './images.js';

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

/** One expected output of a fixture manifest: how PyTorch tiled, and what it produced. */
export interface ReferenceRun {
  tile: number;
  tile_pad: number;
  pre_pad: number;
  expected: string;
  width: number;
  height: number;
  pixels_sha256: string;
}

/**
 * upscale() with the run's tiling, checked against PyTorch's PNG (its pixels' checksum first, so a
 * changed fixture is not mistaken for a regression): the size, and every value within 1/255.
 */
export async function expectReferenceRun(dir: string, loaded: LoadedModel, image: Image, run: ReferenceRun, label: string): Promise<Image> {
  const output = await upscale(image, loaded, { tile: run.tile, tilePad: run.tile_pad, prePad: run.pre_pad });
  const reference = await readRgb(join(dir, run.expected));
  expect(pixelsSha256(reference.data)).toBe(run.pixels_sha256);
  expect([output.width, output.height, output.channels]).toEqual([run.width, run.height, 3]);
  const diff = maxAbsDiff(output, reference);
  console.log(`${label}: max difference ${diff.max}/255, ${diff.differing} of ${output.data.length} values differ`);
  expect(diff.max).toBeLessThanOrEqual(1);
  return output;
}
