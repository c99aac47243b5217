// The converted official checkpoint, run through our pipeline, against outputs PyTorch computed
// (tools/reference/realesrgan_reference.py). Tolerance: 1/255 on every pixel (float32 differences
// between PyTorch and ONNX Runtime can flip a rounding, nothing more).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, readRgb } from './support/images.js';
import { tileSettings, upscale, type LoadedModel } from '@superres/core';
import { pluginFromCheckpoint } from '@superres/models';
import { loadModelFile } from '@superres/models/node';
import { hasOnnxChecker, noCheckerReason, runOnnxChecker } from '../src/onnx/test-support/onnx-checker.js';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';

const referenceDir = join(repoRoot, 'packages/models/test/fixtures/reference/animevideov3');

const weights = needsFixture('realesr-animevideov3.pth matches PyTorch', 'weights', 'realesr-animevideov3.pth');

describe.skipIf(weights.missing)(weights.title, () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModelFile(fixture('weights', 'realesr-animevideov3.pth'), { threads: 2 });
  });
  afterAll(async () => model?.release());

  it('reads the geometry from the tensors', () => {
    expect(model.scale).toBe(4);
    expect(model.alignment).toBe(1);
    expect(model.receptiveRadius).toBe(18);
  });

  it.skipIf(!hasOnnxChecker)(
    `the converted graph passes onnx.checker (full check)${hasOnnxChecker ? '' : ` (skipped: ${noCheckerReason})`}`,
    async () => {
      const bytes = new Uint8Array(await readFile(fixture('weights', 'realesr-animevideov3.pth')));
      const plugin = pluginFromCheckpoint('realesr-animevideov3', bytes);
      const result = runOnnxChecker(await plugin.toOnnx(bytes), 'print(len(m.graph.node), len(m.graph.initializer))');
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      // 18 Conv + 17 PReLUs of 4 nodes each (2 depthwise Conv, Relu, Add; prelu-nchwc.ts) +
      // DepthToSpace + Resize + Add; 18 weights + 18 biases + 17 x 2 depthwise weights + scales.
      expect(result.stdout.trim()).toBe('89 71');
    },
  );

  for (const name of ['baby', 'bird', 'butterfly', 'head', 'woman']) {
    it(`${name}.png (whole image) is within 1/255 of PyTorch`, async () => {
      const input = await readRgb(fixture('images', 'set5', 'LRx4', `${name}.png`));
      const output = await upscale(input, model);
      const reference = await readRgb(join(referenceDir, `${name}.png`));
      expect([output.width, output.height]).toEqual([input.width * 4, input.height * 4]);
      const { max } = maxAbsDiff(output, reference);
      expect(max).toBeLessThanOrEqual(1);
    });
  }

  // PyTorch's tiled (64, pad 24) output is bit-identical to its whole-image one (see the manifest).
  it('baby.png with tile 64 and tile pad 24 is within 1/255 of PyTorch', async () => {
    const input = await readRgb(fixture('images', 'set5', 'LRx4', 'baby.png'));
    const output = await upscale(input, model, { tile: 64, tilePad: 24 });
    const reference = await readRgb(join(referenceDir, 'baby.png'));
    expect(maxAbsDiff(output, reference).max).toBeLessThanOrEqual(1);
  });

  // The default tiling under a small budget: tiles of 64, the pad 'auto' gives (the radius, 18).
  for (const name of ['baby', 'butterfly']) {
    it(`${name}.png with tile 'auto' in a 20 MiB budget is within 1/255 of PyTorch and of the whole image`, async () => {
      const input = await readRgb(fixture('images', 'set5', 'LRx4', `${name}.png`));
      const maxMemory = 20 * 1024 * 1024;
      expect(tileSettings(input, model, { maxMemory })).toEqual({ tile: 64, tilePad: 18 });
      const tiled = await upscale(input, model, { maxMemory });
      expect(maxAbsDiff(tiled, await upscale(input, model, { tile: 0 })).max).toBeLessThanOrEqual(1);
      expect(maxAbsDiff(tiled, await readRgb(join(referenceDir, `${name}.png`))).max).toBeLessThanOrEqual(1);
    });
  }

  it('the reference outputs are the ones the manifest describes', async () => {
    const manifest = JSON.parse(await readFile(join(referenceDir, 'manifest.json'), 'utf8'));
    expect(JSON.stringify(manifest)).toContain('b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d');
  });
});
