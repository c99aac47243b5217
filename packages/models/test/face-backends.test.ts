// Face enhancement on the browser's backend: onnxruntime-web (its WebAssembly build, run here in
// Node) gives the same result as onnxruntime-node for the whole flow, from checkpoint bytes:
// the real RetinaFace MobileNet-0.25 and the 1/16-width GFPGANv1Clean and ParseNet checkpoints,
// Blake_Lively.jpg at upscale 2. Both run ORT's CPU kernels (native vs WebAssembly SIMD, sums in
// another order), so float rounding may move a few 8-bit values by one: PSNR >= 50 dB, and the
// same faces found.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { enhanceFaces, type Image } from '@superres/core';
import { smallGfpganCheckpoint, smallParseNetCheckpoint } from '../../../test-support/face-checkpoints.js';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { createFaceModelsFromWeights } from '../src/faces/face-models-from-weights.js';
import { createNodeBackend } from '../src/node/backend.js';
import { createWebBackend } from '../src/web/index.js';

const weights = needsFixture('face enhancement on onnxruntime-web and onnxruntime-node', 'weights', 'detection_mobilenet0.25_Final.pth');

describe.skipIf(weights.missing)(weights.title, () => {
  it('the same faces restored and pasted, PSNR >= 50 dB between the two backends', async () => {
    const bytes = {
      detector: new Uint8Array(readFileSync(fixture('weights', 'detection_mobilenet0.25_Final.pth'))),
      restorer: smallGfpganCheckpoint(),
      parser: smallParseNetCheckpoint(),
    };
    const { data, info } = await sharp(fixture('images', 'faces', 'whole', 'Blake_Lively.jpg')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const input: Image = { width: info.width, height: info.height, channels: 3, bitDepth: 8, data: new Uint8Array(data) };
    const background: Image = { width: input.width * 2, height: input.height * 2, channels: 3, bitDepth: 8, data: new Uint8Array(input.width * input.height * 12).fill(128) };
    const outputs: Image[] = [];
    const found: number[] = [];
    for (const backend of [createNodeBackend({ threads: 2 }), createWebBackend({ threads: 1 })]) {
      const models = await createFaceModelsFromWeights(bytes, backend);
      try {
        found.push((await models.detect(input)).length);
        outputs.push(await enhanceFaces(input, background, models, { upscale: 2 }));
      } finally {
        await models.release();
      }
    }
    expect(found).toEqual([2, 2]);
    const [a, b] = outputs as [Image, Image];
    let squared = 0;
    for (let i = 0; i < a.data.length; i++) squared += (a.data[i]! - b.data[i]!) ** 2;
    const psnr = squared === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255 * a.data.length) / squared);
    expect(psnr, `PSNR ${psnr.toFixed(1)} dB`).toBeGreaterThanOrEqual(50);
    expect(a.data.filter((v) => v !== 128).length).toBeGreaterThan(a.data.length / 4);
  });

  it('refuses weights given for the wrong role, naming it', async () => {
    const detector = new Uint8Array(readFileSync(fixture('weights', 'detection_mobilenet0.25_Final.pth')));
    await expect(createFaceModelsFromWeights({ restorer: detector, detector }, createNodeBackend({ threads: 1 }))).rejects.toThrow(
      /restorer weights hold a RetinaFace \(face-detector\), not a face-restorer/,
    );
  });
});
