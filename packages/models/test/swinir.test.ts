// SwinIR end to end: small random-weight checkpoints (classical 'pixelshuffle' x2, lightweight
// 'pixelshuffledirect' x4, real-SR 'nearest+conv' x4 with '3conv'; torch zip under params /
// params_ema and safetensors) detected, inspected, converted to ONNX, run through upscale() on the
// Node and web backends, whole and tiled (tile 16, the measured tile pad), and compared with the
// outputs PyTorch computed through RealESRGANer (tools/reference/make_swinir_fixtures.py writes the
// fixtures and manifest.json). The input (45x38) is not a multiple of the window size: the graph
// pads and crops at runtime. Tolerance: 1/255 on every value.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadCheckpointError, InvalidOptionError, UnsupportedArchitectureError, upscale } from '@superres/core';
import { architectures, detectArchitecture, inspectModel, readCheckpoint, type StateDict } from '@superres/models';
import { maxAbsDiff } from './support/images.js';
import { repoRoot } from '../../../test-support/fixtures.js';
import { expectReferenceRun, fixtureInput, type ReferenceRun, fixtureModels, pixelsSha256, reshaped, type BackendName } from './support/architecture-fixtures.js';

const dir = join(repoRoot, 'packages/models/test/fixtures/swinir');

interface Hyper {
  in_chans: number;
  embed_dim: number;
  depths: number[];
  num_heads: number[];
  window_size: number;
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
  architecture: 'SwinIR';
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

/** What superres should report, from the manifest's upstream names. */
function expectedHyperparameters(h: Hyper): Record<string, unknown> {
  return {
    inChans: h.in_chans,
    embedDim: h.embed_dim,
    depths: h.depths,
    numHeads: h.num_heads,
    windowSize: h.window_size,
    mlpRatio: h.mlp_ratio,
    scale: h.upscale,
    imgRange: h.img_range,
    upsampler: h.upsampler,
    resiConnection: h.resi_connection,
    ...(h.upsampler === 'pixelshuffledirect' ? {} : { numFeat: h.num_feat }),
    imgSize: h.img_size,
    patchNorm: h.patch_norm,
  };
}

/**
 * MACs per output pixel counted from the tensors: every conv weight's elements times the area it
 * runs at (the input's, or after each x2 / pixel-shuffle step), every linear weight's elements
 * once per token, and the attention's q k^T and attn v (ws^2 x embed_dim each) per token.
 */
function countedMacsPerOutputPixel(stateDict: StateDict, h: Hyper): number {
  const s2 = h.upscale ** 2;
  const n = h.window_size ** 2;
  let macs = 0;
  for (const [name, t] of stateDict) {
    if (!name.endsWith('.weight') || t.shape.length < 2) continue;
    const elements = t.shape.reduce((a, b) => a * b, 1);
    let area = 1;
    const up = /^upsample\.(\d+)\./.exec(name);
    if (up && h.upsampler === 'pixelshuffle') area = 4 ** (Number(up[1]) / 2);
    const convUp = /^conv_up(\d)\./.exec(name);
    if (convUp) area = 4 ** Number(convUp[1]);
    if ((name.startsWith('conv_hr.') || name.startsWith('conv_last.')) && h.upsampler !== 'pixelshuffledirect') area = s2;
    macs += elements * area;
    if (name.endsWith('.attn.qkv.weight')) macs += 2 * n * h.embed_dim;
  }
  return macs / s2;
}

const fixtures = fixtureModels(dir);
const model = fixtures.model;
afterAll(fixtures.releaseAll);

describe('SwinIR fixtures', () => {
  it('the manifest lists every checkpoint in the folder', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.pth') || f.endsWith('.safetensors'));
    expect(manifest.checkpoints.map((c) => c.file).sort()).toEqual(files.sort());
  });

  it('input.png decodes to the pixels PyTorch saw, and is not a multiple of the window size', async () => {
    const image = await input();
    expect([image.width, image.height]).toEqual([manifest.input.width, manifest.input.height]);
    expect(sha256(image.data)).toBe(manifest.input.pixels_sha256);
    expect(image.width % 4).not.toBe(0);
    expect(image.height % 4).not.toBe(0);
  });

  it('is a built-in architecture', () => {
    expect(architectures.list().map((a) => a.name)).toContain('SwinIR');
  });

  it('covers the three upsamplers', () => {
    const upsamplers = new Set(manifest.checkpoints.map((c) => c.hyperparameters.upsampler));
    expect([...upsamplers].sort()).toEqual(['nearest+conv', 'pixelshuffle', 'pixelshuffledirect']);
  });
});

for (const entry of manifest.checkpoints) {
  const h = entry.hyperparameters;
  const scale = h.upscale;
  describe(`${entry.file} (SwinIR ${h.upsampler} x${scale}, ${h.resi_connection}, ${entry.format})`, () => {
    it('is detected with its hyperparameters and the measured tile pad as receptive radius', () => {
      const checkpoint = readCheckpoint(fileBytes(entry));
      expect(checkpoint.format).toBe(entry.format);
      expect(checkpoint.nestedKey ?? null).toBe(entry.nested_key);
      const detected = detectArchitecture(checkpoint.stateDict);
      expect(detected.architecture).toBe('SwinIR');
      expect(detected.kind).toBe('upscaler');
      expect(detected.hyperparameters).toEqual(expectedHyperparameters(h));
      expect(detected.geometry.scale).toBe(scale);
      expect(detected.geometry.alignment).toBe(scale === 2 ? 2 : 1);
      // window_size x Swin blocks; the generator measured that this pad (and less) keeps tiles within 1/255.
      expect(detected.geometry.receptiveRadius).toBe(entry.receptive_radius);
      expect(detected.geometry.receptiveRadius).toBeGreaterThanOrEqual(entry.measured_tile_pad);
    });

    it('inspectModel reports the architecture, scale and cost', () => {
      const bytes = fileBytes(entry);
      const inspection = inspectModel(bytes);
      expect(inspection.error).toBeUndefined();
      expect(inspection.architecture).toBe('SwinIR');
      expect(inspection.scale).toBe(scale);
      expect(inspection.receptiveRadius).toBe(entry.receptive_radius);
      expect(inspection.macsPerOutputPixel).toBeCloseTo(countedMacsPerOutputPixel(readCheckpoint(bytes).stateDict, h), 6);
    });

    it('automatic and off-grid tiles keep the window grid: within 1/255 of the whole image', async () => {
      const loaded = await model(entry, 'node');
      expect(loaded.tileMultiple).toBe(h.window_size);
      // Larger than the smallest automatic tile (64), not a multiple of the window.
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
      // A budget small enough to force tiles: size and pad come out as multiples of the window.
      const automatic = await upscale(image, loaded, { maxMemory: 1, onProgress: (p) => p.stage === 'inference' && (tiles = p.tilesTotal) });
      expect(tiles).toBeGreaterThan(1);
      // Asked off the grid (tile 70, pad 17): rounded up onto it.
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
        const image = await input();
        await expectReferenceRun(dir, loaded, image, run, `${entry.file} ${how} on ${backend}`);
      });
    }
  });
}

describe('SwinIR detection errors', () => {
  const byFile = (file: string) => manifest.checkpoints.find((c) => c.file === file)!;
  const stateDictOf = (file: string) => readCheckpoint(fileBytes(byFile(file))).stateDict;

  const wrongShapes: [string, string, number[]][] = [
    ['swinir_classical_x2.pth', 'conv_first.weight', [16, 4, 3, 3]],
    ['swinir_classical_x2.pth', 'layers.0.residual_group.blocks.0.attn.relative_position_index', [15, 15]],
    ['swinir_classical_x2.pth', 'layers.1.residual_group.blocks.0.attn.relative_position_bias_table', [49, 3]],
    ['swinir_classical_x2.pth', 'layers.1.residual_group.blocks.1.attn.qkv.weight', [48, 12]],
    ['swinir_classical_x2.pth', 'layers.0.residual_group.blocks.1.mlp.fc2.weight', [16, 33]],
    ['swinir_classical_x2.pth', 'layers.1.residual_group.blocks.1.attn_mask', [9, 16, 16]],
    ['swinir_classical_x2.pth', 'upsample.0.weight', [48, 16, 3, 3]],
    ['swinir_lightweight_x4.safetensors', 'upsample.0.weight', [47, 12, 3, 3]],
    ['swinir_lightweight_x4.safetensors', 'norm.bias', [13]],
    ['swinir_realsr_x4.pth', 'layers.1.conv.2.weight', [4, 4, 3, 3]],
    ['swinir_realsr_x4.pth', 'conv_hr.weight', [16, 8, 3, 3]],
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

  it('a denoising / JPEG SwinIR (no upsampler) is refused by name', () => {
    const sd: StateDict = new Map([...stateDictOf('swinir_lightweight_x4.pth')].filter(([k]) => !k.startsWith('upsample.')));
    expect(() => detectArchitecture(sd)).toThrow(UnsupportedArchitectureError);
    expect(() => detectArchitecture(sd)).toThrow(/SwinIR without an upsampler/);
  });

  it('options of other architectures are mistakes worth saying', () => {
    const sd = stateDictOf('swinir_classical_x2.pth');
    expect(() => detectArchitecture(sd, { activation: 'relu' })).toThrow(InvalidOptionError);
    expect(() => detectArchitecture(sd, { upscale: 4 })).toThrow(InvalidOptionError);
    expect(detectArchitecture(sd, { upscale: 2 }).geometry.scale).toBe(2);
  });

  it('a wrapper prefix is removed before detection', () => {
    const sd: StateDict = new Map();
    for (const [name, t] of stateDictOf('swinir_realsr_x4.pth')) sd.set(`module.${name}`, t);
    const detected = detectArchitecture(sd);
    expect(detected.architecture).toBe('SwinIR');
    expect(detected.strippedPrefix).toBe('module.');
  });
});
