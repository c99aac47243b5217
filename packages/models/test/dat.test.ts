// DAT end to end: small random-weight checkpoints (x2 '3conv' 'pixelshuffle' torch zip under
// `params` as the authors release theirs; x4 '1conv' 'pixelshuffledirect' (the DAT-light layout)
// under `params_ema` and as safetensors) detected, inspected, converted to ONNX, run through
// upscale() on the Node and web backends, whole and tiled, and compared with the outputs PyTorch
// computed through RealESRGANer (tools/reference/make_dat_fixtures.py writes the fixtures and
// manifest.json; tools/reference/dat_arch.py is the reference network). The input (45x38) is a
// multiple of neither window. DAT is not tile-exact: the tile pad is measured (manifest
// networks.*.tile_pad_curve), and the tiled runs compare with PyTorch tiled alike. Tolerance: 1/255.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadCheckpointError, InvalidOptionError, UnsupportedArchitectureError } from '@superres/core';
import {
  DAT_MEASURED_TILE_PAD,
  architectures,
  datBlockShifts,
  datRelativeIndex,
  datShiftMask,
  detectArchitecture,
  detectDat,
  detectSwinir,
  inspectModel,
  readCheckpoint,
  type StateDict,
} from '@superres/models';
import { repoRoot } from '../../../test-support/fixtures.js';
import { expectReferenceRun, fixtureInput, type ReferenceRun, fixtureModels, pixelsSha256, reshaped, type BackendName } from './support/architecture-fixtures.js';

const dir = join(repoRoot, 'packages/models/test/fixtures/dat');

interface Hyper {
  in_chans: number;
  embed_dim: number;
  split_size: [number, number];
  depth: number[];
  num_heads: number[];
  expansion_factor: number;
  qkv_bias: boolean;
  upscale: number;
  img_range: number;
  resi_connection: string;
  upsampler: string;
  num_feat: number;
  img_size: number;
}

interface Entry {
  file: string;
  network: string;
  architecture: 'DAT';
  format: string;
  nested_key: string | null;
  hyperparameters: Hyper;
  measured_tile_pad: number;
  load_options: Record<string, unknown>;
  runs: ReferenceRun[];
}

interface Manifest {
  input: { file: string; width: number; height: number; pixels_sha256: string };
  checkpoints: Entry[];
  networks: Record<string, { tile_pad_curve: Record<string, Record<string, { max: number; mean: number }>> }>;
}

const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const fileBytes = (entry: Entry) => new Uint8Array(readFileSync(join(dir, entry.file)));
const input = fixtureInput(dir, manifest.input.file);

/** What superres should report, from the manifest's upstream names. */
function expectedHyperparameters(h: Hyper): Record<string, unknown> {
  return {
    inChans: h.in_chans,
    embedDim: h.embed_dim,
    splitSize: h.split_size,
    depths: h.depth,
    numHeads: h.num_heads,
    expansionFactor: h.expansion_factor,
    qkvBias: h.qkv_bias,
    scale: h.upscale,
    imgRange: h.img_range,
    upsampler: h.upsampler,
    resiConnection: h.resi_connection,
    ...(h.upsampler === 'pixelshuffle' ? { numFeat: h.num_feat } : {}),
    imgSize: h.img_size,
  };
}

/**
 * MACs per output pixel counted from the tensors: conv and linear weights once per pixel of the
 * area they run at (the channel maps' 1x1 convs, once per image, and the position-bias MLP, run at
 * conversion, left out), the spatial attention's 2 N E per token of an even block and the channel
 * attention's 2 d E of an odd one.
 */
function countedMacsPerOutputPixel(stateDict: StateDict, h: Hyper): number {
  const s2 = h.upscale ** 2;
  const n = h.split_size[0] * h.split_size[1];
  let macs = 0;
  for (const [name, t] of stateDict) {
    if (!name.endsWith('.weight') || t.shape.length < 2 || name.includes('.channel_interaction.') || name.includes('.pos.')) continue;
    let area = 1;
    const up = /^upsample\.(\d+)\./.exec(name);
    if (up && h.upsampler === 'pixelshuffle') area = 4 ** (Number(up[1]) / 2);
    if (name.startsWith('conv_last.')) area = s2;
    macs += t.shape.reduce((a, b) => a * b, 1) * area;
    const qkv = /^layers\.(\d+)\.blocks\.(\d+)\.attn\.qkv\.weight$/.exec(name);
    if (qkv) macs += Number(qkv[2]) % 2 === 0 ? 2 * n * h.embed_dim : 2 * (h.embed_dim / h.num_heads[Number(qkv[1])]!) * h.embed_dim;
  }
  return macs / s2;
}

const fixtures = fixtureModels(dir);
const model = fixtures.model;
afterAll(fixtures.releaseAll);

describe('DAT fixtures', () => {
  it('the manifest lists every checkpoint in the folder', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.pth') || f.endsWith('.safetensors'));
    expect(manifest.checkpoints.map((c) => c.file).sort()).toEqual(files.sort());
  });

  it('input.png decodes to the pixels PyTorch saw', async () => {
    const image = await input();
    expect([image.width, image.height]).toEqual([manifest.input.width, manifest.input.height]);
    expect(pixelsSha256(image.data)).toBe(manifest.input.pixels_sha256);
  });

  it('is a built-in architecture', () => {
    expect(architectures.list().map((a) => a.name)).toContain('DAT');
  });

  it('the measured pad is the largest pad scanned, and no scanned pad gets the larger input within 1/255', () => {
    for (const network of Object.values(manifest.networks)) {
      const large = Object.entries(network.tile_pad_curve).find(([name]) => name !== 'input.png')![1];
      const pads = Object.keys(large).map(Number);
      expect(Math.max(...pads)).toBe(DAT_MEASURED_TILE_PAD);
      expect(Math.min(...Object.values(large).map((d) => d.max))).toBeGreaterThan(1);
    }
  });
});

for (const entry of manifest.checkpoints) {
  const h = entry.hyperparameters;
  const scale = h.upscale;
  const windows = Math.max(...h.split_size);
  describe(`${entry.file} (DAT x${scale}, ${h.upsampler}, ${h.resi_connection}, ${entry.format})`, () => {
    it('is detected with its hyperparameters, tileMultiple the largest window, radius the measured pad', () => {
      const checkpoint = readCheckpoint(fileBytes(entry));
      expect(checkpoint.format).toBe(entry.format);
      expect(checkpoint.nestedKey ?? null).toBe(entry.nested_key);
      const detected = detectArchitecture(checkpoint.stateDict);
      expect(detected.architecture).toBe('DAT');
      expect(detected.kind).toBe('upscaler');
      expect(detected.hyperparameters).toEqual(expectedHyperparameters(h));
      expect(detected.geometry.scale).toBe(scale);
      expect(detected.geometry.alignment).toBe(scale === 2 ? 2 : 1);
      expect(detected.geometry.tileMultiple).toBe(windows);
      expect(detected.geometry.receptiveRadius).toBe(entry.measured_tile_pad);
    });

    it('inspectModel reports the architecture, scale and cost', () => {
      const bytes = fileBytes(entry);
      const inspection = inspectModel(bytes);
      expect(inspection.error).toBeUndefined();
      expect(inspection.architecture).toBe('DAT');
      expect(inspection.scale).toBe(scale);
      expect(inspection.receptiveRadius).toBe(entry.measured_tile_pad);
      expect(inspection.macsPerOutputPixel).toBeCloseTo(countedMacsPerOutputPixel(readCheckpoint(bytes).stateDict, h), 6);
    });

    for (const run of entry.runs) {
      const how = run.tile ? `tile ${run.tile}, tile pad ${run.tile_pad}` : 'whole image';
      it.each<BackendName>(['node', 'web'])(`${how} on %s: within 1/255 of PyTorch (${run.expected})`, async (backend) => {
        const loaded = await model(entry, backend);
        expect(loaded.tileMultiple).toBe(windows);
        const image = await input();
        await expectReferenceRun(dir, loaded, image, run, `${entry.file} ${how} on ${backend}`);
      });
    }
  });
}

describe('DAT buffers and rules', () => {
  const byFile = (file: string) => manifest.checkpoints.find((c) => c.file === file)!;
  const stateDictOf = (file: string) => readCheckpoint(fileBytes(byFile(file))).stateDict;
  const values = (sd: StateDict, name: string) => Array.from(sd.get(name)!.data as ArrayLike<number | bigint>, Number);

  it('the stored index and shift masks are what superres computes', () => {
    const sd = stateDictOf('dat_light_x4.pth');
    expect(values(sd, 'layers.0.blocks.0.attn.attns.1.relative_position_index')).toEqual(Array.from(datRelativeIndex(8, 4)));
    // img_size 8, split [4, 8]: group 0 block 2 shifts.
    expect(values(sd, 'layers.0.blocks.2.attn.attn_mask_0')).toEqual(Array.from(datShiftMask(8, 4, 8, 2, 4)));
    expect(values(sd, 'layers.0.blocks.2.attn.attn_mask_1')).toEqual(Array.from(datShiftMask(8, 8, 4, 4, 2)));
    expect(sd.has('layers.0.blocks.0.attn.attn_mask_0')).toBe(false);
  });

  it('which blocks shift follows upstream (group 0: 2, 6, 10...; group 1: 0, 4, 8...; odd blocks never)', () => {
    const shifted = (group: number) => Array.from({ length: 12 }, (_, j) => j).filter((j) => datBlockShifts(group, j));
    expect(shifted(0)).toEqual([2, 6, 10]);
    expect(shifted(1)).toEqual([0, 4, 8]);
    expect(shifted(2)).toEqual([2, 6, 10]);
  });
});

describe('DAT detection errors', () => {
  const byFile = (file: string) => manifest.checkpoints.find((c) => c.file === file)!;
  const stateDictOf = (file: string) => readCheckpoint(fileBytes(byFile(file))).stateDict;

  const wrongShapes: [string, string, number[]][] = [
    ['dat_x2.pth', 'conv_first.weight', [64, 4, 3, 3]],
    ['dat_x2.pth', 'layers.0.blocks.1.attn.temperature', [3, 1, 1]],
    ['dat_x2.pth', 'layers.0.blocks.0.attn.attns.1.pos.pos3.2.weight', [3, 2]],
    ['dat_x2.pth', 'layers.0.blocks.0.attn.dwconv.1.running_var', [63]],
    ['dat_x2.pth', 'layers.1.blocks.0.attn.spatial_interaction.3.weight', [2, 4, 1, 1]],
    ['dat_x2.pth', 'layers.0.blocks.1.ffn.sg.conv.weight', [64, 1, 5, 5]],
    ['dat_x2.pth', 'layers.1.conv.2.weight', [16, 16, 3, 3]],
    ['dat_x2.pth', 'upsample.0.weight', [48, 16, 3, 3]],
    ['dat_light_x4.safetensors', 'layers.1.blocks.0.attn.attn_mask_1', [2, 32, 31]],
    ['dat_light_x4.safetensors', 'layers.0.blocks.2.attn.attns.0.relative_position_index', [32, 31]],
    ['dat_light_x4.safetensors', 'upsample.0.weight', [47, 32, 3, 3]],
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

  it('a position index that is not upstream\'s is refused by name (PyTorch would run what it says)', () => {
    const sd = stateDictOf('dat_x2.pth');
    const name = 'layers.1.blocks.0.attn.attns.0.relative_position_index';
    const entry = sd.get(name)!;
    const data = Array.from(entry.data as ArrayLike<number | bigint>, Number).reverse();
    const broken: StateDict = new Map(sd);
    broken.set(name, { ...entry, data: entry.data instanceof BigInt64Array ? BigInt64Array.from(data, BigInt) : Float32Array.from(data) });
    expect(() => detectArchitecture(broken)).toThrow(new RegExp(`${name.replace(/\./g, '\\.')} is not DAT's relative position index`));
  });

  it('window sizes upstream cannot tile are refused by name', () => {
    const sd = stateDictOf('dat_x2.pth');
    const name = 'layers.0.blocks.0.attn.attns.0.rpe_biases';
    // split [2, 3]: 3 x 5 offsets.
    const rows: number[] = [];
    for (let dy = -1; dy <= 1; dy++) for (let dx = -2; dx <= 2; dx++) rows.push(dy, dx);
    const broken: StateDict = new Map(sd);
    broken.set(name, { dtype: 'float32', shape: [15, 2], data: Float32Array.from(rows) });
    expect(() => detectDat(broken)).toThrow(UnsupportedArchitectureError);
    expect(() => detectDat(broken)).toThrow(/split size \[2, 3\]/);
  });

  it('DAT and SwinIR checkpoints are not taken for each other', () => {
    const swinir = readCheckpoint(new Uint8Array(readFileSync(join(repoRoot, 'packages/models/test/fixtures/swinir/swinir_classical_x2.pth')))).stateDict;
    expect(detectDat(swinir)).toBeUndefined();
    expect(detectSwinir(stateDictOf('dat_x2.pth'))).toBeUndefined();
  });

  it('options of other architectures are mistakes worth saying', () => {
    const sd = stateDictOf('dat_x2.pth');
    expect(() => detectArchitecture(sd, { activation: 'relu' })).toThrow(InvalidOptionError);
    expect(() => detectArchitecture(sd, { upscale: 4 })).toThrow(InvalidOptionError);
    expect(detectArchitecture(sd, { upscale: 2 }).geometry.scale).toBe(2);
  });
});
