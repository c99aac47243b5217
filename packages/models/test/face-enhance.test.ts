// The whole face-enhance flow (core's enhanceFaces over this package's graphs, through the
// inference workers) against the PyTorch + OpenCV reference of GFPGANer's path
// (tools/reference/face_enhance_reference.py, output committed): the real RetinaFace MobileNet-0.25
// weights, GFPGANv1Clean and ParseNet with formula weights, Blake_Lively.jpg at upscale 2 into a
// flat gray background. PSNR >= 40 dB (the bar); measured 68.9 dB (32 k of 3.9 M values off
// by the restorer's float rounding).
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { enhanceFaces, type Image } from '@superres/core';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { readCheckpoint } from '../src/checkpoint/read-checkpoint.js';
import { createFaceModels } from '../src/faces/face-models.js';
import { buildGfpganOnnx } from '../src/faces/gfpgan-graph.js';
import { buildParseNetOnnx } from '../src/faces/parsenet-graph.js';
import { buildRetinaFaceOnnx } from '../src/faces/retinaface-graph.js';
import { createNodeBackend } from '../src/node/backend.js';
import { formulaStateDict } from './support/formula-weights.js';

const tensorsOf = (file: string) =>
  (JSON.parse(readFileSync(new URL(`./fixtures/reference/${file}`, import.meta.url), 'utf8')) as { tensors: [string, number[]][] }).tensors;

async function rgbOf(path: string): Promise<Image> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, bitDepth: 8, data: new Uint8Array(data) };
}

const weights = needsFixture('enhanceFaces against the PyTorch + OpenCV reference', 'weights', 'detection_mobilenet0.25_Final.pth');

describe.skipIf(weights.missing)(weights.title, () => {
  it('restores and pastes the faces of Blake_Lively.jpg at upscale 2, PSNR >= 40 dB', async () => {
    const backend = createNodeBackend({ threads: 2 });
    const detector = await backend.createSession(buildRetinaFaceOnnx(readCheckpoint(new Uint8Array(readFileSync(fixture('weights', 'detection_mobilenet0.25_Final.pth')))).stateDict).onnx);
    const restorer = await backend.createSession(buildGfpganOnnx(formulaStateDict(tensorsOf('gfpgan/formula-512.json'))).onnx);
    const parser = await backend.createSession(buildParseNetOnnx(formulaStateDict(tensorsOf('parsenet/formula.json'))).onnx);
    try {
      const input = await rgbOf(fixture('images', 'faces', 'whole', 'Blake_Lively.jpg'));
      const background: Image = { width: input.width * 2, height: input.height * 2, channels: 3, bitDepth: 8, data: new Uint8Array(input.width * 2 * input.height * 2 * 3).fill(128) };
      const out = await enhanceFaces(input, background, createFaceModels({ detector, restorer, parser }), { upscale: 2 });
      const reference = await rgbOf(new URL('./fixtures/reference/face-enhance/blake-x2.png', import.meta.url).pathname);
      expect([out.width, out.height]).toEqual([reference.width, reference.height]);
      let squared = 0;
      let differing = 0;
      for (let i = 0; i < out.data.length; i++) {
        const d = out.data[i]! - reference.data[i]!;
        squared += d * d;
        if (d !== 0) differing++;
      }
      const psnr = squared === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / (squared / out.data.length));
      expect(psnr, `PSNR ${psnr.toFixed(2)} dB, ${differing} of ${out.data.length} values differ`).toBeGreaterThanOrEqual(40);
      // The faces were pasted: half of this output is face (the reference: 1.9 M of 3.9 M values).
      expect(out.data.filter((v) => v !== 128).length).toBeGreaterThan(out.data.length / 4);
    } finally {
      await Promise.all([detector.release(), restorer.release(), parser.release()]);
    }
  }, 600_000); // 44 s alone; a bound for a loaded machine, not a speed claim.
});
