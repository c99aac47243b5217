// HAT end to end: small random-weight checkpoints (x2 '1conv' torch zip under params_ema, x4 'identity'
// safetensors) detected, inspected, converted to ONNX, run through upscale() on the Node and web
// backends, whole and tiled (tile 16, the measured tile pad), and compared with the outputs PyTorch
// computed through RealESRGANer (tools/reference/make_hat_fixtures.py writes the fixtures and
// manifest.json). The input (45x38) is not a multiple of the window size. Tolerance: 1/255.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadCheckpointError, InvalidOptionError, upscale } from '@superres/core';
import { architectures, detectArchitecture, detectHat, detectSwinir, inspectModel, ocaIndex, readCheckpoint, type StateDict } from '@superres/models';
import { maxAbsDiff } from './support/images.js';
import { repoRoot } from '../../../test-support/fixtures.js';
import { expectReferenceRun, fixtureInput, type ReferenceRun, fixtureModels, pixelsSha256, reshaped, type BackendName } from './support/architecture-fixtures.js';

const dir = join(repoRoot, 'packages/models/test/fixtures/hat');

interface Hyper {
  in_chans: number;
  embed_dim: number;
  depths: number[];
  num_heads: number[];
  window_size: number;
  compress_ratio: number;
  squeeze_factor: number;
  conv_scale: number;
  overlap_ratio: number;
  mlp_ratio: number;
  upscale: number;
  img_range: number;
  upsampler: string;
  resi_connection: string;
  num_feat: number;
  img_size: number;
  patch_norm: boolean;
}

interface Entry {
  file: string;
  network: string;
  architecture: 'HAT';
  format: string;
  nested_key: string | null;
  hyperparameters: Hyper;
  measured_tile_pad: number;
  receptive_radius: number;
  load_options: Record<string, unknown>;
  runs: ReferenceRun[];
}

interface Manifest {
  input: { file: string; width: number; height: number; pixels_sha256: string };
  checkpoints: Entry[];
}

const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const sha256 = pixelsSha256;
const fileBytes = (entry: Entry) => new Uint8Array(readFileSync(join(dir, entry.file)));

const input = fixtureInput(dir, manifest.input.file);

/** What superres should report, from the manifest's upstream names (img_size: spandrel's 64, HAT stores no mask). */
function expectedHyperparameters(h: Hyper): Record<string, unknown> {
  return {
    inChans: h.in_chans,
    embedDim: h.embed_dim,
    depths: h.depths,
    numHeads: h.num_heads,
    windowSize: h.window_size,
    overlapRatio: h.overlap_ratio,
    compressRatio: h.compress_ratio,
    squeezeFactor: h.squeeze_factor,
    convScale: h.conv_scale,
    mlpRatio: h.mlp_ratio,
    scale: h.upscale,
    imgRange: h.img_range,
    upsampler: h.upsampler,
    resiConnection: h.resi_connection,
    numFeat: h.num_feat,
    imgSize: 64,
    patchNorm: h.patch_norm,
  };
}

/**
 * MACs per output pixel counted from the tensors: conv and linear weights once per pixel of the
 * area they run at (the channel attention's 1x1 convs, once per image, left out), the window
 * attention's 2 ws^2 E and the OCAB's 2 ows^2 E per token.
 */
function countedMacsPerOutputPixel(stateDict: StateDict, h: Hyper): number {
  const s2 = h.upscale ** 2;
  const n = h.window_size ** 2;
  const ows = h.window_size + Math.floor(h.overlap_ratio * h.window_size);
  let macs = 0;
  for (const [name, t] of stateDict) {
    if (!name.endsWith('.weight') || t.shape.length < 2 || name.includes('.attention.')) continue;
    const elements = t.shape.reduce((a, b) => a * b, 1);
    let area = 1;
    const up = /^upsample\.(\d+)\./.exec(name);
    if (up) area = 4 ** (Number(up[1]) / 2);
    if (name.startsWith('conv_last.')) area = s2;
    macs += elements * area;
    if (name.endsWith('.attn.qkv.weight')) macs += 2 * n * h.embed_dim;
    if (name.endsWith('.overlap_attn.qkv.weight')) macs += 2 * ows * ows * h.embed_dim;
  }
  return macs / s2;
}

const fixtures = fixtureModels(dir);
const model = fixtures.model;
afterAll(fixtures.releaseAll);

describe('HAT fixtures', () => {
  it('the manifest lists every checkpoint in the folder', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.pth') || f.endsWith('.safetensors'));
    expect(manifest.checkpoints.map((c) => c.file).sort()).toEqual(files.sort());
  });

  it('input.png decodes to the pixels PyTorch saw', async () => {
    const image = await input();
    expect([image.width, image.height]).toEqual([manifest.input.width, manifest.input.height]);
    expect(sha256(image.data)).toBe(manifest.input.pixels_sha256);
  });

  it('is a built-in architecture', () => {
    expect(architectures.list().map((a) => a.name)).toContain('HAT');
  });
});

for (const entry of manifest.checkpoints) {
  const h = entry.hyperparameters;
  const scale = h.upscale;
  describe(`${entry.file} (HAT x${scale}, ${h.resi_connection}, ${entry.format})`, () => {
    it('is detected with its hyperparameters, tileMultiple the window, radius >= the measured pad', () => {
      const checkpoint = readCheckpoint(fileBytes(entry));
      expect(checkpoint.format).toBe(entry.format);
      expect(checkpoint.nestedKey ?? null).toBe(entry.nested_key);
      const detected = detectArchitecture(checkpoint.stateDict);
      expect(detected.architecture).toBe('HAT');
      expect(detected.kind).toBe('upscaler');
      expect(detected.hyperparameters).toEqual(expectedHyperparameters(h));
      expect(detected.geometry.scale).toBe(scale);
      expect(detected.geometry.alignment).toBe(scale === 2 ? 2 : 1);
      expect(detected.geometry.tileMultiple).toBe(h.window_size);
      expect(detected.geometry.receptiveRadius).toBe(entry.receptive_radius);
      expect(detected.geometry.receptiveRadius).toBeGreaterThanOrEqual(entry.measured_tile_pad);
    });

    it('inspectModel reports the architecture, scale and cost', () => {
      const bytes = fileBytes(entry);
      const inspection = inspectModel(bytes);
      expect(inspection.error).toBeUndefined();
      expect(inspection.architecture).toBe('HAT');
      expect(inspection.scale).toBe(scale);
      expect(inspection.receptiveRadius).toBe(entry.receptive_radius);
      expect(inspection.macsPerOutputPixel).toBeCloseTo(countedMacsPerOutputPixel(readCheckpoint(bytes).stateDict, h), 6);
    });

    it('automatic and off-grid tiles keep the window grid: within 1/255 of the whole image', async () => {
      const loaded = await model(entry, 'node');
      const small = await input();
      const width = 150;
      const height = 133;
      const data = new Uint8Array(width * height * 3);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = small.data[((y % small.height) * small.width + (x % small.width)) * 3 + c]! ^ ((x * 7 + y * 3) & 15);
        }
      }
      const image = { width, height, channels: 3 as const, bitDepth: 8 as const, data };
      const whole = await upscale(image, loaded, { tile: 0 });
      let tiles = 0;
      const automatic = await upscale(image, loaded, { maxMemory: 1, onProgress: (p) => p.stage === 'inference' && (tiles = p.tilesTotal) });
      expect(tiles).toBeGreaterThan(1);
      const offGrid = await upscale(image, loaded, { tile: 70, tilePad: 17 });
      for (const [name, output] of [['automatic', automatic], ['tile 70 pad 17', offGrid]] as const) {
        const diff = maxAbsDiff(output, whole);
        console.log(`${entry.file} ${name} (${tiles} automatic tiles): max difference ${diff.max}/255 from the whole image`);
        expect(diff.max, name).toBeLessThanOrEqual(1);
      }
    });

    for (const run of entry.runs) {
      const how = run.tile ? `tile ${run.tile}, tile pad ${run.tile_pad}` : 'whole image';
      it.each<BackendName>(['node', 'web'])(`${how} on %s: within 1/255 of PyTorch (${run.expected})`, async (backend) => {
        const loaded = await model(entry, backend);
        expect(loaded.tileMultiple).toBe(h.window_size);
        const image = await input();
        await expectReferenceRun(dir, loaded, image, run, `${entry.file} ${how} on ${backend}`);
      });
    }
  });
}

describe('HAT detection errors', () => {
  const byFile = (file: string) => manifest.checkpoints.find((c) => c.file === file)!;
  const stateDictOf = (file: string) => readCheckpoint(fileBytes(byFile(file))).stateDict;

  const wrongShapes: [string, string, number[]][] = [
    ['hat_x2.pth', 'conv_first.weight', [12, 4, 3, 3]],
    ['hat_x2.pth', 'relative_position_index_SA', [15, 15]],
    ['hat_x2.pth', 'relative_position_index_OCA', [16, 35]],
    ['hat_x2.pth', 'layers.1.residual_group.blocks.0.attn.relative_position_bias_table', [49, 5]],
    ['hat_x2.pth', 'layers.0.residual_group.blocks.1.conv_block.cab.2.weight', [12, 5, 3, 3]],
    ['hat_x2.pth', 'layers.1.residual_group.blocks.1.conv_block.cab.3.attention.3.weight', [12, 2, 1, 1]],
    ['hat_x2.pth', 'layers.0.residual_group.overlap_attn.relative_position_bias_table', [64, 2]],
    ['hat_x2.pth', 'layers.1.residual_group.overlap_attn.qkv.weight', [36, 11]],
    ['hat_x4.safetensors', 'upsample.2.weight', [64, 16, 1, 1]],
    ['hat_x4.safetensors', 'layers.1.residual_group.overlap_attn.mlp.fc2.weight', [12, 25]],
  ];
  it.each(wrongShapes)('%s with %s reshaped to %j: BadCheckpointError naming it', (file, name, shape) => {
    const broken = reshaped(stateDictOf(file), name, shape);
    let error: unknown;
    try {
      detectArchitecture(broken);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect((error as Error).message).toContain(name);
  });

  it('HAT and SwinIR checkpoints are not taken for each other', () => {
    const swinir = readCheckpoint(new Uint8Array(readFileSync(join(repoRoot, 'packages/models/test/fixtures/swinir/swinir_classical_x2.pth')))).stateDict;
    expect(detectHat(swinir)).toBeUndefined();
    expect(detectArchitecture(swinir).architecture).toBe('SwinIR');
    expect(detectSwinir(stateDictOf('hat_x2.pth'))).toBeUndefined();
  });

  it('the OCA index is upstream\'s raw values (partly negative), wrapped when read', () => {
    const index = ocaIndex(4, 6);
    expect(Math.min(...index)).toBe(-40);
    expect(Math.max(...index)).toBe(40);
    const sd = stateDictOf('hat_x2.pth');
    const stored = sd.get('relative_position_index_OCA')!;
    expect(Array.from(stored.data as ArrayLike<number | bigint>, Number)).toEqual(Array.from(index));
  });

  it('options of other architectures are mistakes worth saying', () => {
    const sd = stateDictOf('hat_x2.pth');
    expect(() => detectArchitecture(sd, { activation: 'relu' })).toThrow(InvalidOptionError);
    expect(() => detectArchitecture(sd, { upscale: 4 })).toThrow(InvalidOptionError);
    expect(detectArchitecture(sd, { upscale: 2 }).geometry.scale).toBe(2);
  });
});
