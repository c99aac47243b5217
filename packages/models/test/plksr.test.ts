// PLKSR and RealPLKSR end to end: small random-weight checkpoints (PLKSR with each channel mixer,
// PLK and RectSparsePLK large kernels; RealPLKSR with GroupNorm and with layer norm; x2 and x4;
// torch zip under params_ema / params and safetensors) detected, inspected, converted to ONNX, run
// through upscale() on the Node and web backends, whole and tiled, and compared with the outputs
// PyTorch computed through RealESRGANer (tools/reference/make_plksr_fixtures.py writes the
// fixtures and manifest.json). Tolerance: 1/255 on every value.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BadCheckpointError,
  InvalidOptionError,
  UnsupportedArchitectureError,
  loadModel,
  upscale,
  } from '@superres/core';
import {
  architectures,
  detectArchitecture,
  inspectModel,
  pluginFromCheckpoint,
  readCheckpoint,
  type ArchitectureOverrides,
  type StateDict,
} from '@superres/models';
import { createWebBackend } from '@superres/models/web';
import { maxAbsDiff, readRgb } from './support/images.js';
import { repoRoot } from '../../../test-support/fixtures.js';
import { expectReferenceRun, fixtureInput, type ReferenceRun, fixtureModels, pixelsSha256, reshaped, type BackendName } from './support/architecture-fixtures.js';

const dir = join(repoRoot, 'packages/models/test/fixtures/plksr');

interface Hyper {
  dim: number;
  n_blocks: number;
  upscaling_factor: number;
  kernel_size: number;
  split_ratio: number;
  pdim: number;
  use_ea: boolean;
  ccm_type?: string;
  lk_type?: string;
  norm_groups?: number;
  layer_norm?: boolean;
}

interface Entry {
  file: string;
  network: string;
  architecture: 'PLKSR' | 'RealPLKSR';
  format: string;
  nested_key: string | null;
  hyperparameters: Hyper;
  receptive_radius: number;
  load_options: ArchitectureOverrides;
  runs: ReferenceRun[];
}

interface Manifest {
  input: { file: string; width: number; height: number; pixels_sha256: string };
  checkpoints: Entry[];
  networks: Record<string, { tile_exact: boolean }>;
}

const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const sha256 = pixelsSha256;
const fileBytes = (entry: Entry) => new Uint8Array(readFileSync(join(dir, entry.file)));

const input = fixtureInput(dir, manifest.input.file);

/** What superres should report, from the manifest's upstream names. */
function expectedHyperparameters(entry: Entry): Record<string, unknown> {
  const h = entry.hyperparameters;
  const common = {
    dim: h.dim,
    nBlocks: h.n_blocks,
    scale: h.upscaling_factor,
    kernelSize: h.kernel_size,
    pdim: h.pdim,
    splitRatio: h.pdim / h.dim,
    useEa: h.use_ea,
  };
  if (entry.architecture === 'PLKSR') return { ...common, ccmType: h.ccm_type, lkType: h.lk_type };
  return h.layer_norm ? { ...common, norm: 'layer' } : { ...common, norm: 'group', normGroups: h.norm_groups };
}

/** Every convolution runs at the input's resolution: its weight's elements are its MACs per input pixel. */
function convMacsPerOutputPixel(stateDict: StateDict, scale: number): number {
  let macs = 0;
  for (const [name, t] of stateDict) if (name.endsWith('.weight') && t.shape.length === 4) macs += t.shape.reduce((a, b) => a * b, 1);
  return macs / scale ** 2;
}

const fixtures = fixtureModels(dir);
const model = fixtures.model;
afterAll(fixtures.releaseAll);

describe('PLKSR fixtures', () => {
  it('the manifest lists every checkpoint in the folder', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.pth') || f.endsWith('.safetensors'));
    expect(manifest.checkpoints.map((c) => c.file).sort()).toEqual(files.sort());
  });

  it('input.png decodes to the pixels PyTorch saw', async () => {
    const image = await input();
    expect([image.width, image.height]).toEqual([manifest.input.width, manifest.input.height]);
    expect(sha256(image.data)).toBe(manifest.input.pixels_sha256);
  });

  it('both are built-in architectures', () => {
    const names = architectures.list().map((a) => a.name);
    expect(names).toContain('PLKSR');
    expect(names).toContain('RealPLKSR');
  });
});

for (const entry of manifest.checkpoints) {
  const scale = entry.hyperparameters.upscaling_factor;
  const options = Object.keys(entry.load_options).length > 0 ? `, options ${JSON.stringify(entry.load_options)}` : '';
  describe(`${entry.file} (${entry.architecture} x${scale}, ${entry.format}${options})`, () => {
    it('is detected with its hyperparameters and exact receptive radius', () => {
      const checkpoint = readCheckpoint(fileBytes(entry));
      expect(checkpoint.format).toBe(entry.format);
      expect(checkpoint.nestedKey ?? null).toBe(entry.nested_key);
      const detected = detectArchitecture(checkpoint.stateDict, entry.load_options);
      expect(detected.architecture).toBe(entry.architecture);
      expect(detected.kind).toBe('upscaler');
      expect(detected.hyperparameters).toEqual(expectedHyperparameters(entry));
      expect(detected.geometry.scale).toBe(scale);
      expect(detected.geometry.alignment).toBe(scale === 2 ? 2 : 1);
      // The generator checked in float64 that this pad makes tiles exact and one less does not.
      expect(detected.geometry.receptiveRadius).toBe(entry.receptive_radius);
    });

    it('inspectModel reports the architecture, scale and cost', () => {
      const bytes = fileBytes(entry);
      const inspection = inspectModel(bytes, entry.load_options);
      expect(inspection.error).toBeUndefined();
      expect(inspection.architecture).toBe(entry.architecture);
      expect(inspection.scale).toBe(scale);
      expect(inspection.receptiveRadius).toBe(entry.receptive_radius);
      expect(inspection.macsPerOutputPixel).toBe(convMacsPerOutputPixel(readCheckpoint(bytes).stateDict, scale));
    });

    it('loads with the native scale and geometry', async () => {
      const loaded = await model(entry, 'node');
      expect(loaded.scale).toBe(scale);
      expect(loaded.receptiveRadius).toBe(entry.receptive_radius);
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

describe('PLKSR detection errors', () => {
  const byFile = (file: string) => manifest.checkpoints.find((c) => c.file === file)!;
  const stateDictOf = (file: string) => readCheckpoint(fileBytes(byFile(file))).stateDict;

  const wrongShapes: [string, string, number[]][] = [
    ['plksr_x4.pth', 'feats.0.weight', [16, 4, 3, 3]],
    ['plksr_x4.pth', 'feats.1.channe_mixer.0.weight', [32, 16, 5, 5]],
    ['plksr_x4.pth', 'feats.1.lk.conv.weight', [4, 4, 16, 16]],
    ['plksr_x4.pth', 'feats.2.lk.conv.weight', [4, 4, 15, 15]],
    ['plksr_x4.pth', 'feats.2.refine.weight', [16, 16, 3, 3]],
    ['plksr_x4.pth', 'feats.3.weight', [47, 16, 3, 3]],
    ['plksr_x4.pth', 'feats.2.attn.f.0.bias', [15]],
    ['plksr_iccm_rect_x4.pth', 'feats.2.lk.nm_conv.weight', [3, 3, 9, 3]],
    ['realplksr_x4.pth', 'feats.1.channel_mixer.2.weight', [16, 32, 1, 1]],
    ['realplksr_x4.pth', 'feats.2.norm.weight', [8]],
    ['realplksr_ln_x4.safetensors', 'feats.2.layer_norm.bias', [16, 1]],
    ['realplksr_ln_x4.safetensors', 'feats.4.weight', [48, 8, 3, 3]],
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

  it('RealPLKSR with DySample upsampling is refused by name', () => {
    const sd: StateDict = new Map(stateDictOf('realplksr_x4.pth'));
    // spandrel's DySample(3 s^2 -> 3, s 4, groups 4): offset/scope 1x1 convs, end_conv, init_pos.
    const add = (name: string, shape: number[]) =>
      sd.set(name, { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    add('to_img.init_pos', [1, 128, 1, 1]);
    add('to_img.offset.weight', [128, 48, 1, 1]);
    add('to_img.offset.bias', [128]);
    add('to_img.scope.weight', [128, 48, 1, 1]);
    add('to_img.end_conv.weight', [3, 48, 1, 1]);
    add('to_img.end_conv.bias', [3]);
    expect(() => detectArchitecture(sd)).toThrow(UnsupportedArchitectureError);
    expect(() => detectArchitecture(sd)).toThrow(/RealPLKSR with DySample upsampling \(tensors to_img\./);
  });

  it('PLKSR with the SparsePLK large kernel is refused by name', () => {
    const sd: StateDict = new Map();
    for (const [name, t] of stateDictOf('plksr_x4.pth')) sd.set(name.replace('.lk.conv.', '.lk.convs.0.'), t);
    expect(() => detectArchitecture(sd)).toThrow(UnsupportedArchitectureError);
    expect(() => detectArchitecture(sd)).toThrow(/PLKSR with the SparsePLK large kernel/);
  });

  it('normGroups: needed where 4 does not divide dim, checked, and refused where it means nothing', () => {
    const groupNorm = stateDictOf('realplksr_x2.pth'); // dim 12, trained with 2 groups
    expect(detectArchitecture(groupNorm).hyperparameters.normGroups).toBe(4); // 4 divides 12: not detectable
    expect(detectArchitecture(groupNorm, { normGroups: 3 }).hyperparameters.normGroups).toBe(3);
    expect(() => detectArchitecture(groupNorm, { normGroups: 5 })).toThrow(InvalidOptionError);
    expect(() => detectArchitecture(groupNorm, { normGroups: 0 })).toThrow(InvalidOptionError);
    expect(() => detectArchitecture(stateDictOf('realplksr_ln_x4.safetensors'), { normGroups: 4 })).toThrow(InvalidOptionError);
    expect(() => detectArchitecture(stateDictOf('plksr_x4.pth'), { normGroups: 4 })).toThrow(InvalidOptionError);
  });

  it('normGroups reaches the graph: realplksr_x2 without it (4 groups, not its 2) misses the reference', async () => {
    const entry = byFile('realplksr_x2.pth');
    expect(entry.load_options).toEqual({ normGroups: 2 });
    const bytes = fileBytes(entry);
    const loaded = await loadModel(pluginFromCheckpoint('realplksr_x2_4_groups', bytes), bytes, createWebBackend({ numThreads: 1 }));
    try {
      const output = await upscale(await input(), loaded, { tile: 0, prePad: 0 });
      expect(maxAbsDiff(output, await readRgb(join(dir, entry.runs[0]!.expected))).max).toBeGreaterThan(1);
    } finally {
      await loaded.release();
    }
  });

  it('options of other architectures are mistakes worth saying', () => {
    const sd = stateDictOf('plksr_x4.pth');
    expect(() => detectArchitecture(sd, { activation: 'relu' })).toThrow(InvalidOptionError);
    expect(() => detectArchitecture(sd, { upscale: 2 })).toThrow(InvalidOptionError);
    expect(detectArchitecture(sd, { upscale: 4 }).geometry.scale).toBe(4);
  });

  it('a wrapper prefix is removed before detection', () => {
    const sd: StateDict = new Map();
    for (const [name, t] of stateDictOf('realplksr_ln_x4.safetensors')) sd.set(`module.${name}`, t);
    const detected = detectArchitecture(sd);
    expect(detected.architecture).toBe('RealPLKSR');
    expect(detected.strippedPrefix).toBe('module.');
  });
});
