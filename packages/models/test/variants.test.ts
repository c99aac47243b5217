// Every architecture variant and checkpoint format, end to end: small random-weight checkpoints
// (RRDBNet x4/x2/x1 in the BasicSR layout, x4 in the original ESRGAN layout, SRVGGNetCompact
// prelu/relu/leakyrelu; torch zip, legacy and safetensors) loaded from disk, converted to ONNX,
// run through upscale() and compared with the outputs PyTorch computed through RealESRGANer
// (tools/reference/make_variant_fixtures.py writes the fixtures and manifest.json). Tolerance: 1/255
// on every value (float32 differences between PyTorch and ONNX Runtime can flip a rounding).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, readRgb } from './support/images.js';
import { loadModel, upscale, type Image, type LoadedModel } from '@superres/core';
import { pluginFromCheckpoint } from '@superres/models';
import { loadModelFile } from '@superres/models/node';
import { createWebBackend } from '@superres/models/web';
import { repoRoot } from '../../../test-support/fixtures.js';

const variantsDir = join(repoRoot, 'packages/models/test/fixtures/variants');

interface Run {
  tile: number;
  tile_pad: number;
  pre_pad: number;
  expected: string;
  width: number;
  height: number;
  pixels_sha256: string;
}

interface CheckpointEntry {
  file: string;
  network: string;
  architecture: string;
  key_layout: string;
  format: string;
  nested_key: string | null;
  hyperparameters: { scale: number } & Record<string, unknown>;
  load_options: { activation?: 'prelu' | 'relu' | 'leakyrelu' };
  runs: Run[];
}

interface Manifest {
  input: { file: string; width: number; height: number; pixels_sha256: string };
  checkpoints: CheckpointEntry[];
}

const manifest = JSON.parse(readFileSync(join(variantsDir, 'manifest.json'), 'utf8')) as Manifest;

const sha256 = (data: Uint8Array | Uint16Array): string =>
  createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');

let inputPromise: Promise<Image> | undefined;
const input = (): Promise<Image> => (inputPromise ??= readRgb(join(variantsDir, manifest.input.file)));

type BackendName = 'node' | 'web';
const webBackend = createWebBackend({ numThreads: 1 });

async function loadOnWeb(entry: CheckpointEntry): Promise<LoadedModel> {
  const bytes = new Uint8Array(await readFile(join(variantsDir, entry.file)));
  return loadModel(pluginFromCheckpoint(entry.network, bytes, entry.load_options), bytes, webBackend);
}

// One load per checkpoint and backend, shared by its runs; a load error fails each of its tests.
const models = new Map<string, Promise<LoadedModel>>();
function model(entry: CheckpointEntry, backend: BackendName): Promise<LoadedModel> {
  const key = `${backend}:${entry.file}`;
  let loaded = models.get(key);
  if (!loaded) {
    loaded =
      backend === 'node'
        ? loadModelFile(join(variantsDir, entry.file), { threads: 2, ...entry.load_options })
        : loadOnWeb(entry);
    loaded.catch(() => undefined);
    models.set(key, loaded);
  }
  return loaded;
}
afterAll(async () => {
  for (const loaded of models.values()) await loaded.then((m) => m.release(), () => undefined);
});

describe('variant fixtures', () => {
  it('the manifest lists every checkpoint in the folder', () => {
    const files = readdirSync(variantsDir).filter((f) => f.endsWith('.pth') || f.endsWith('.safetensors'));
    expect(manifest.checkpoints.map((c) => c.file).sort()).toEqual(files.sort());
  });

  it('input.png decodes to the pixels PyTorch saw', async () => {
    const image = await input();
    expect([image.width, image.height]).toEqual([manifest.input.width, manifest.input.height]);
    expect(sha256(image.data)).toBe(manifest.input.pixels_sha256);
  });
});

for (const entry of manifest.checkpoints) {
  const { scale } = entry.hyperparameters;
  const activation = entry.load_options.activation ? `, activation ${entry.load_options.activation}` : '';
  describe(`${entry.file} (${entry.architecture} x${scale}, ${entry.key_layout} keys, ${entry.format}${activation})`, () => {
    it('loads with the native scale', async () => {
      expect((await model(entry, 'node')).scale).toBe(scale);
    });

    for (const run of entry.runs) {
      const how = run.tile ? `tile ${run.tile}, tile pad ${run.tile_pad}` : 'whole image';
      it.each<BackendName>(['node', 'web'])(`${how} on %s: within 1/255 of PyTorch (${run.expected})`, async (backend) => {
        const loaded = await model(entry, backend);
        const image = await input();
        const output = await upscale(image, loaded, { tile: run.tile, tilePad: run.tile_pad, prePad: run.pre_pad });
        const reference = await readRgb(join(variantsDir, run.expected));
        expect(sha256(reference.data)).toBe(run.pixels_sha256);
        expect([output.width, output.height, output.channels]).toEqual([run.width, run.height, 3]);
        expect([output.width, output.height]).toEqual([image.width * scale, image.height * scale]);
        expect(maxAbsDiff(output, reference).max).toBeLessThanOrEqual(1);
      });
    }
  });
}
