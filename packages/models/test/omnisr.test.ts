// OmniSR end to end: small random-weight checkpoints (num_feat 16, one group; x2 with window 4,
// x4 with window 8, with and without the relative position bias; torch zip under params_ema /
// params / bare, and safetensors) detected, inspected, converted to ONNX, run through upscale() on
// the Node and web backends, whole and tiled, and compared with the outputs PyTorch computed
// through RealESRGANer (tools/reference/make_omnisr_fixtures.py writes the fixtures and
// manifest.json). The input is a multiple of neither window size: the graph pads at run time.
// OmniSR is not tile-exact: the tile pad is measured (manifest tile_pad_measurement), and the tiled
// expected outputs are PyTorch tiled at that pad. Tolerance: 1/255 on every value.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadCheckpointError, InvalidOptionError } from '@superres/core';
import { architectures, detectArchitecture, inspectModel, readCheckpoint, type StateDict } from '@superres/models';
import { repoRoot } from '../../../test-support/fixtures.js';
import { expectReferenceRun, fixtureInput, type ReferenceRun, fixtureModels, pixelsSha256, reshaped, type BackendName } from './support/architecture-fixtures.js';

const dir = join(repoRoot, 'packages/models/test/fixtures/omnisr');

interface Hyper {
  num_in_ch: number;
  num_out_ch: number;
  num_feat: number;
  block_num: number;
  pe: boolean;
  window_size: number;
  res_num: number;
  up_scale: number;
  bias: boolean;
}

interface Entry {
  file: string;
  network: string;
  architecture: 'OmniSR';
  format: string;
  nested_key: string | null;
  hyperparameters: Hyper;
  receptive_radius: number;
  load_options: Record<string, unknown>;
  runs: ReferenceRun[];
}

interface Manifest {
  input: { file: string; width: number; height: number; pixels_sha256: string };
  tile_pad_measurement: { tile_pad: number };
  checkpoints: Entry[];
}

const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const sha256 = pixelsSha256;
const fileBytes = (entry: Entry) => new Uint8Array(readFileSync(join(dir, entry.file)));

const input = fixtureInput(dir, manifest.input.file);

/** What superres should report, from the manifest's upstream names. */
function expectedHyperparameters(h: Hyper): Record<string, unknown> {
  return {
    numInCh: h.num_in_ch,
    numOutCh: h.num_out_ch,
    numFeat: h.num_feat,
    blockNum: h.block_num,
    resNum: h.res_num,
    pe: h.pe,
    windowSize: h.window_size,
    scale: h.up_scale,
    bias: h.bias,
  };
}

/**
 * MACs per output pixel counted independently: every convolution's and linear layer's weight
 * elements per pixel at its resolution (depthwise weights are already per channel; ESA's conv2 at
 * 1/4 and conv3 at 1/36 of the pixels; the squeeze-excitation's per-image linears left out), plus
 * the attention matmuls: window and grid 2 w^2 C each, channel attention 2 C^2/4 each.
 */
function expectedMacs(stateDict: StateDict, h: Hyper): number {
  let macs = 0;
  for (const [name, t] of stateDict) {
    if (!name.endsWith('.weight') || name.includes('rel_pos_bias') || name.includes('.gate.')) continue;
    if (t.shape.length !== 4 && !(t.shape.length === 2 && /to_qkv|to_out/.test(name))) continue;
    const n = t.shape.reduce((a, b) => a * b, 1);
    macs += name.endsWith('esa.conv2.weight') ? n / 4 : name.endsWith('esa.conv3.weight') ? n / 36 : n;
  }
  const C = h.num_feat;
  const perBlock = 2 * (2 * h.window_size ** 2 * C) + 2 * ((2 * C * C) / 4);
  macs += h.res_num * h.block_num * perBlock;
  return macs / h.up_scale ** 2;
}

const fixtures = fixtureModels(dir);
const model = fixtures.model;
afterAll(fixtures.releaseAll);

describe('OmniSR fixtures', () => {
  it('the manifest lists every checkpoint in the folder', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.pth') || f.endsWith('.safetensors'));
    expect(manifest.checkpoints.map((c) => c.file).sort()).toEqual(files.sort());
  });

  it('input.png decodes to the pixels PyTorch saw, a multiple of neither window size', async () => {
    const image = await input();
    expect([image.width, image.height]).toEqual([manifest.input.width, manifest.input.height]);
    expect(sha256(image.data)).toBe(manifest.input.pixels_sha256);
    for (const entry of manifest.checkpoints) {
      const w = entry.hyperparameters.window_size;
      expect(image.width % w !== 0 && image.height % w !== 0).toBe(true);
    }
  });

  it('is a built-in architecture', () => {
    expect(architectures.list().map((a) => a.name)).toContain('OmniSR');
  });
});

for (const entry of manifest.checkpoints) {
  const scale = entry.hyperparameters.up_scale;
  describe(`${entry.file} (OmniSR x${scale}, window ${entry.hyperparameters.window_size}, ${entry.format})`, () => {
    it('is detected with its hyperparameters and the measured tile pad', () => {
      const checkpoint = readCheckpoint(fileBytes(entry));
      expect(checkpoint.format).toBe(entry.format);
      expect(checkpoint.nestedKey ?? null).toBe(entry.nested_key);
      const detected = detectArchitecture(checkpoint.stateDict, entry.load_options);
      expect(detected.architecture).toBe('OmniSR');
      expect(detected.kind).toBe('upscaler');
      expect(detected.hyperparameters).toEqual(expectedHyperparameters(entry.hyperparameters));
      expect(detected.geometry.scale).toBe(scale);
      expect(detected.geometry.alignment).toBe(scale === 2 ? 2 : 1);
      // Measured by the generator (not exact: OmniSR is not tile-exact at any pad).
      expect(detected.geometry.receptiveRadius).toBe(manifest.tile_pad_measurement.tile_pad);
      expect(entry.receptive_radius).toBe(manifest.tile_pad_measurement.tile_pad);
    });

    it('inspectModel reports the architecture, scale and cost', () => {
      const bytes = fileBytes(entry);
      const inspection = inspectModel(bytes, entry.load_options);
      expect(inspection.error).toBeUndefined();
      expect(inspection.architecture).toBe('OmniSR');
      expect(inspection.scale).toBe(scale);
      expect(inspection.receptiveRadius).toBe(entry.receptive_radius);
      expect(inspection.macsPerOutputPixel).toBeCloseTo(expectedMacs(readCheckpoint(bytes).stateDict, entry.hyperparameters), 6);
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

describe('OmniSR detection errors', () => {
  const byFile = (file: string) => manifest.checkpoints.find((c) => c.file === file)!;
  const stateDictOf = (file: string) => readCheckpoint(fileBytes(byFile(file))).stateDict;
  const block = 'residual_layer.0.residual_layer.0.layer';

  const wrongShapes: [string, string, number[]][] = [
    ['omnisr_x2.pth', 'input.weight', [15, 3, 3, 3]],
    ['omnisr_x2.pth', 'up.0.weight', [12, 8, 3, 3]],
    ['omnisr_x2.pth', `${block}.2.fn.rel_pos_bias.weight`, [48, 4]],
    ['omnisr_x2.pth', `${block}.8.fn.rel_pos_bias.weight`, [225, 4]],
    ['omnisr_x2.pth', `${block}.2.fn.to_qkv.weight`, [48, 8]],
    ['omnisr_x2.pth', `${block}.5.fn.temperature`, [2, 1, 1]],
    ['omnisr_x2.pth', `${block}.10.fn.dwconv.weight`, [32, 2, 3, 3]],
    ['omnisr_x4.pth', `${block}.0.fn.4.gate.1.weight`, [8, 16]],
    ['omnisr_x4.pth', 'residual_layer.0.esa.conv2.weight', [16, 16, 1, 1]],
    ['omnisr_nope_x4.pth', 'output.weight', [16, 16, 1, 1]],
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

  it('windowSize: the default 8 without position bias, checked against it where present', () => {
    expect(detectArchitecture(stateDictOf('omnisr_nope_x4.pth')).hyperparameters.windowSize).toBe(8);
    expect(detectArchitecture(stateDictOf('omnisr_nope_x4.pth'), { windowSize: 16 }).hyperparameters.windowSize).toBe(16);
    expect(() => detectArchitecture(stateDictOf('omnisr_x2.pth'), { windowSize: 8 })).toThrow(InvalidOptionError);
    expect(() => detectArchitecture(stateDictOf('omnisr_x2.pth'), { upscale: 4 })).toThrow(InvalidOptionError);
    expect(() => detectArchitecture(stateDictOf('omnisr_x2.pth'), { activation: 'relu' })).toThrow(InvalidOptionError);
  });

  it('bookkeeping tensors (thop counters) are ignored, foreign ones are not', () => {
    const sd: StateDict = new Map(stateDictOf('omnisr_x4.pth'));
    sd.set('total_ops', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    sd.set('input.total_params', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    expect(detectArchitecture(sd).architecture).toBe('OmniSR');
    sd.set('residual_layer.0.extra.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    expect(() => detectArchitecture(sd)).toThrow(/unexpected tensors residual_layer\.0\.extra\.weight/);
  });
});
