// SPAN end to end: small random-weight checkpoints in the authors' layout (normalised input) and
// the no_norm layout, torch zip under params_ema / params and safetensors, x2 and x4, some with
// stale eval_conv tensors (saved in training mode: the branches must be folded, not eval_conv
// read). Each is detected, converted, run through upscale() whole and tiled (tile 8, tile pad =
// the receptive radius) on the Node and web backends, and compared with the outputs PyTorch
// computed through RealESRGANer (tools/reference/make_span_fixtures.py writes the fixtures and
// manifest.json). Tolerance: 1/255 on every value (float32 differences can flip a rounding).
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadCheckpointError, ErrorCode, SuperresError, upscale } from '@superres/core';
import { inspectModel, pluginFromCheckpoint, readCheckpoint, type StateDict } from '@superres/models';
import { loadModelFile } from '@superres/models/node';
import { writeSafetensors } from '../src/checkpoint/test-support/safetensors-writer.js';
import { hasOnnxChecker, noCheckerReason, runOnnxChecker } from '../src/onnx/test-support/onnx-checker.js';
import { SPAN_RECEPTIVE_RADIUS, foldConv3xc } from '../src/architectures/span.js';
import { maxAbsDiff } from './support/images.js';
import { repoRoot } from '../../../test-support/fixtures.js';
import { expectReferenceRun, fixtureInput, type ReferenceRun, fixtureModels, pixelsSha256, type BackendName } from './support/architecture-fixtures.js';

const spanDir = join(repoRoot, 'packages/models/test/fixtures/span');

interface SpanHyper {
  num_in_ch: number;
  num_out_ch: number;
  feature_channels: number;
  upscale: number;
  scale: number;
  bias: boolean;
  norm: boolean;
  img_range: number;
  rgb_mean: number[];
}

interface CheckpointEntry {
  file: string;
  network: string;
  architecture: string;
  layout: string;
  eval_conv: 'folded' | 'stale';
  format: string;
  nested_key: string | null;
  hyperparameters: SpanHyper;
  receptive_radius: number;
  runs: ReferenceRun[];
}

interface Manifest {
  input: { file: string; width: number; height: number; pixels_sha256: string };
  checkpoints: CheckpointEntry[];
}

const manifest = JSON.parse(readFileSync(join(spanDir, 'manifest.json'), 'utf8')) as Manifest;

const sha256 = pixelsSha256;

const input = fixtureInput(spanDir, manifest.input.file);
const fileBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(join(spanDir, file)));

const fixtures = fixtureModels(spanDir);
const model = fixtures.model;
afterAll(fixtures.releaseAll);

/** What the manifest says the hyperparameters are, in our names. */
function expectedHyperparameters(h: SpanHyper): Record<string, unknown> {
  return {
    numInCh: h.num_in_ch,
    numOutCh: h.num_out_ch,
    featureChannels: h.feature_channels,
    upscale: h.upscale,
    bias: h.bias,
    norm: h.norm,
    imgRange: h.img_range,
    rgbMean: h.rgb_mean,
  };
}

/** Multiply-adds per output pixel counted from the network's layers, independently of span.ts. */
function expectedMacs(h: SpanHyper): number {
  const f = h.feature_channels;
  const s = h.upscale;
  const layers: [number, number, number][] = [[h.num_in_ch, f, 3]]; // conv_1 (folded: one 3x3)
  for (let i = 0; i < 6 * 3 + 1; i++) layers.push([f, f, 3]); // 6 SPAB x 3, conv_2
  layers.push([4 * f, f, 1], [f, h.num_out_ch * s * s, 3]); // conv_cat, upsampler.0
  return layers.reduce((sum, [cin, cout, k]) => sum + cin * cout * k * k, 0) / (s * s);
}

describe('SPAN fixtures', () => {
  it('the manifest lists every checkpoint in the folder', () => {
    const files = readdirSync(spanDir).filter((f) => f.endsWith('.pth') || f.endsWith('.safetensors'));
    expect(manifest.checkpoints.map((c) => c.file).sort()).toEqual(files.sort());
  });

  it('input.png decodes to the pixels PyTorch saw', async () => {
    const image = await input();
    expect([image.width, image.height]).toEqual([manifest.input.width, manifest.input.height]);
    expect(sha256(image.data)).toBe(manifest.input.pixels_sha256);
  });
});

for (const entry of manifest.checkpoints) {
  const h = entry.hyperparameters;
  describe(`${entry.file} (SPAN x${h.scale}, ${h.feature_channels} features, ${entry.layout}, eval_conv ${entry.eval_conv}, ${entry.format})`, () => {
    it('is detected with its hyperparameters, geometry and cost (inspectModel)', () => {
      const inspection = inspectModel(fileBytes(entry.file));
      expect(inspection.error).toBeUndefined();
      expect(inspection.format).toBe(entry.format);
      expect(inspection.nestedKey).toBe(entry.nested_key ?? undefined);
      expect(inspection.architecture).toBe('SPAN');
      expect(inspection.kind).toBe('upscaler');
      expect(inspection.hyperparameters).toEqual(expectedHyperparameters(h));
      expect(inspection.scale).toBe(h.scale);
      expect(inspection.alignment).toBe(h.scale === 2 ? 2 : 1);
      expect(inspection.receptiveRadius).toBe(entry.receptive_radius);
      expect(inspection.macsPerOutputPixel).toBeCloseTo(expectedMacs(h), 9);
    });

    it('loads on Node with the native scale and receptive radius', async () => {
      const loaded = await model(entry, 'node');
      expect(loaded.scale).toBe(h.scale);
      expect(loaded.receptiveRadius).toBe(entry.receptive_radius);
    });

    if (entry.eval_conv === 'folded') {
      it("folding the train-time branches gives the eval_conv PyTorch folded and stored", () => {
        const { stateDict } = readCheckpoint(fileBytes(entry.file));
        const names = ['conv_1', 'conv_2'];
        for (let b = 1; b <= 6; b++) for (let k = 1; k <= 3; k++) names.push(`block_${b}.c${k}_r`);
        let worst = 0;
        for (const name of names) {
          const folded = foldConv3xc(stateDict, name);
          const weight = stateDict.get(`${name}.eval_conv.weight`)!.data as Float32Array;
          const bias = stateDict.get(`${name}.eval_conv.bias`)!.data as Float32Array;
          expect(folded.shape).toEqual(stateDict.get(`${name}.eval_conv.weight`)!.shape);
          const scale = Math.max(...weight.map(Math.abs), ...bias.map(Math.abs));
          for (const [ours, theirs] of [
            [folded.weight, weight],
            [folded.bias, bias],
          ] as const) {
            for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!) / scale);
          }
        }
        expect(worst).toBeLessThan(1e-5);
      });
    }

    for (const run of entry.runs) {
      const how = run.tile ? `tile ${run.tile}, tile pad ${run.tile_pad}` : 'whole image';
      it.each<BackendName>(['node', 'web'])(`${how} on %s: within 1/255 of PyTorch (${run.expected})`, async (backend) => {
        const loaded = await model(entry, backend);
        const image = await input();
        const output = await expectReferenceRun(spanDir, loaded, image, run, `${entry.file} ${how} on ${backend}`);
        expect([output.width, output.height]).toEqual([image.width * h.scale, image.height * h.scale]);
      });
    }
  });
}

describe('SPAN graph', () => {
  it.skipIf(!hasOnnxChecker).each(['span_x4.pth', 'span_nonorm_x2.pth'])(
    `%s converts to a graph that passes onnx.checker (full check)${hasOnnxChecker ? '' : ` (skipped: ${noCheckerReason})`}`,
    async (file) => {
      const bytes = fileBytes(file);
      const plugin = pluginFromCheckpoint(file, bytes);
      const result = runOnnxChecker(await plugin.toOnnx(bytes), 'print(len(m.graph.node), len(m.graph.initializer))');
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      // 20 folded Conv3XC (conv_1, 6 x 3 in the blocks, conv_2) as Conv, 6 blocks x (2 SiLU of 2
      // nodes + Sigmoid, Sub, Add, Mul), Concat, conv_cat, upsampler.0, DepthToSpace; Sub and Mul
      // first when normalised. Initializers: 20 x 2 folded weights and biases, conv_cat's and
      // upsampler.0's 2 each, 0.5, and mean and range when normalised.
      const norm = file === 'span_x4.pth';
      expect(result.stdout.trim()).toBe(`${20 + 6 * 8 + 4 + (norm ? 2 : 0)} ${40 + 4 + 1 + (norm ? 2 : 0)}`);
    },
  );
});

describe('SPAN tiling', () => {
  it('the receptive radius makes tiles exact: tile pad 21 gives the whole-image bytes on Node', async () => {
    const entry = manifest.checkpoints.find((c) => c.file === 'span_nonorm_x4.pth')!;
    expect(SPAN_RECEPTIVE_RADIUS).toBe(entry.receptive_radius);
    const loaded = await model(entry, 'node');
    const image = await input();
    const whole = await upscale(image, loaded, { tile: 0 });
    const tiled = await upscale(image, loaded, { tile: 8, tilePad: SPAN_RECEPTIVE_RADIUS });
    expect(maxAbsDiff(tiled, whole).max).toBe(0);
  });
});

// ---- broken and unusual checkpoints -------------------------------------------------------

const source = manifest.checkpoints.find((c) => c.file === 'span_x4.pth')!;
const noNorm = manifest.checkpoints.find((c) => c.file === 'span_nonorm_x4.safetensors')!;
const stateDictOf = (file: string): StateDict => readCheckpoint(fileBytes(file)).stateDict;

function toSafetensors(stateDict: StateDict): Uint8Array {
  return writeSafetensors([...stateDict].map(([name, t]) => [name, { shape: t.shape, data: t.data as Float32Array }] as const));
}

/** The state dict with one tensor replaced (or removed, with `undefined`). */
function edited(stateDict: StateDict, name: string, replacement?: { shape: number[]; data: Float32Array }): StateDict {
  const out: StateDict = new Map();
  for (const [key, value] of stateDict) {
    if (key !== name) out.set(key, value);
    else if (replacement) out.set(key, { dtype: 'float32', ...replacement });
  }
  if (replacement && !stateDict.has(name)) out.set(name, { dtype: 'float32', ...replacement });
  return out;
}

function thrownCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof SuperresError ? error.code : `not a SuperresError: ${String(error)}`;
  }
  return undefined;
}

function conversionError(bytes: Uint8Array, overrides: Record<string, unknown> = {}): SuperresError {
  let caught: unknown;
  try {
    pluginFromCheckpoint('broken', bytes, overrides);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SuperresError);
  return caught as SuperresError;
}

describe('SPAN checkpoints with problems', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-span-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('a tensor of the wrong shape is a BadCheckpointError naming it and both shapes (loadModelFile)', async () => {
    const name = 'block_3.c2_r.conv.1.weight';
    const f = source.hyperparameters.feature_channels;
    const broken = edited(stateDictOf(source.file), name, { shape: [2 * f, 2 * f, 1, 1], data: new Float32Array(4 * f * f) });
    const path = join(dir, 'wrong-shape.safetensors');
    await writeFile(path, toSafetensors(broken));
    const error = await loadModelFile(path).then(
      async (m) => {
        await m.release();
        throw new Error('expected the checkpoint to be refused');
      },
      (e: unknown) => e as SuperresError,
    );
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect(error.code).toBe(ErrorCode.BadCheckpoint);
    expect(error.message).toContain(name);
    expect(error.message).toContain(`[${2 * f}, ${2 * f}, 1, 1]`);
    expect(error.message).toContain(`[${2 * f}, ${2 * f}, 3, 3]`);
    // inspect reports it as a finding and still lists the tensors
    const inspection = inspectModel(toSafetensors(broken));
    expect(inspection.architecture).toBeUndefined();
    expect(inspection.error).toContain(name);
  });

  it.each([
    ['conv_1.sk.weight', [5, 3, 3, 3]],
    ['upsampler.0.weight', [48, 4, 3, 3]],
    ['conv_cat.weight', [5, 15, 1, 1]],
    ['block_6.c3_r.eval_conv.weight', [5, 5, 1, 1]],
    ['conv_2.sk.bias', [4]],
  ])('a wrong shape of %s is named', (name, shape) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const error = conversionError(toSafetensors(edited(stateDictOf(source.file), name, { shape, data: new Float32Array(count) })));
    expect(error.code).toBe(ErrorCode.BadCheckpoint);
    expect(error.message).toContain(name);
  });

  it('a missing tensor and a stray one are named', () => {
    const missing = conversionError(toSafetensors(edited(stateDictOf(source.file), 'block_2.c1_r.eval_conv.bias')));
    expect(missing.code).toBe(ErrorCode.BadCheckpoint);
    expect(missing.message).toMatch(/missing tensor block_2\.c1_r\.eval_conv\.bias/);
    const stray = conversionError(
      toSafetensors(edited(stateDictOf(source.file), 'block_7.c1_r.sk.weight', { shape: [5, 5, 1, 1], data: new Float32Array(25) })),
    );
    expect(stray.code).toBe(ErrorCode.BadCheckpoint);
    expect(stray.message).toContain('unexpected tensors block_7.c1_r.sk.weight');
  });

  it('upsampler channels that are no num_out_ch x upscale^2 are named', () => {
    const f = source.hyperparameters.feature_channels;
    let sd = edited(stateDictOf(source.file), 'upsampler.0.weight', { shape: [7, f, 3, 3], data: new Float32Array(7 * f * 9) });
    sd = edited(sd, 'upsampler.0.bias', { shape: [7], data: new Float32Array(7) });
    const error = conversionError(toSafetensors(sd));
    expect(error.code).toBe(ErrorCode.BadCheckpoint);
    expect(error.message).toContain('upsampler.0.weight has 7 output channels');
  });

  it('a training wrapper prefix is removed before detection', () => {
    const prefixed: StateDict = new Map([...stateDictOf(noNorm.file)].map(([k, v]) => [`module.${k}`, v]));
    const inspection = inspectModel(toSafetensors(prefixed));
    expect(inspection.architecture).toBe('SPAN');
    expect(inspection.strippedPrefix).toBe('module.');
    expect(inspection.hyperparameters).toEqual(expectedHyperparameters(noNorm.hyperparameters));
  });

  it('imgRange and rgbMean (not in the file) can be given for a normalising checkpoint, and are checked', () => {
    const bytes = fileBytes(source.file);
    const told = inspectModel(bytes, { imgRange: 1, rgbMean: [0.5, 0.5, 0.5] });
    expect(told.hyperparameters).toMatchObject({ norm: true, imgRange: 1, rgbMean: [0.5, 0.5, 0.5] });
    const bad: Record<string, unknown>[] = [{ imgRange: 0 }, { imgRange: 'x' }, { rgbMean: [0.5, 0.5] }, { rgbMean: [0.5, Number.NaN, 0.5] }, { activation: 'relu' }];
    for (const overrides of bad) {
      expect(thrownCode(() => inspectModel(bytes, overrides))).toBe(ErrorCode.InvalidOption);
    }
    // A no_norm checkpoint does not normalise: the options would change nothing, so they are refused.
    expect(thrownCode(() => inspectModel(fileBytes(noNorm.file), { imgRange: 1 }))).toBe(ErrorCode.InvalidOption);
  });

  it('a normalising checkpoint with other than 3 input channels is refused (PyTorch cannot run it either)', () => {
    const f = source.hyperparameters.feature_channels;
    let sd = stateDictOf(source.file);
    for (const [part, shape] of [
      ['sk.weight', [f, 1, 1, 1]],
      ['conv.0.weight', [2, 1, 1, 1]],
      ['conv.0.bias', [2]],
      ['conv.1.weight', [2 * f, 2, 3, 3]],
      ['eval_conv.weight', [f, 1, 3, 3]],
    ] as const) {
      sd = edited(sd, `conv_1.${part}`, { shape: [...shape], data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    }
    const error = conversionError(toSafetensors(sd));
    expect(error.code).toBe(ErrorCode.BadCheckpoint);
    expect(error.message).toContain('3-channel rgb_mean');
    // Without normalisation the same network is fine: 1 channel in, 3 out (spandrel's rule).
    sd = edited(sd, 'no_norm', { shape: [1], data: new Float32Array(1) });
    const inspection = inspectModel(toSafetensors(sd));
    expect(inspection.hyperparameters).toMatchObject({ numInCh: 1, numOutCh: 3, upscale: 4, norm: false });
  });
});
