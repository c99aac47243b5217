// Upscayl's ncnn copy of realesr-animevideov3 (float16 weights) against the official .pth,
// both through superres' own pipeline (loadModelFile -> upscale), whole image and in tiles of 64.
// float16 weights round every weight to 11 significant bits: outputs may differ by a few levels.
import { describe, afterAll, beforeAll, expect, it } from 'vitest';
import { upscale, type Image, type LoadedModel } from '@superres/core';
import { loadModelFile } from '@superres/models/node';
import { readRgb } from '../../test/support/images.js';
import { fixture, needsFixture } from '../../../../test-support/fixtures.js';

const IMAGES: [string, string[]][] = [
  ['set5 baby (126x126)', ['images', 'set5', 'LRx4', 'baby.png']],
  ['realesrgan 0014.jpg (179x179)', ['images', 'realesrgan', '0014.jpg']],
];

const ncnn = needsFixture('ncnn realesr-animevideov3-x4 matches the .pth through the same pipeline', 'ncnn', 'realesr-animevideov3-x4.param');
const pth = needsFixture(ncnn.title, 'weights', 'realesr-animevideov3.pth');
const missing = ncnn.missing || pth.missing;

/** Largest and mean absolute sample difference, in 8-bit levels. */
function compare(a: Image, b: Image): { max: number; mean: number } {
  expect([a.width, a.height, a.channels]).toEqual([b.width, b.height, b.channels]);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: sum / a.data.length };
}

describe.skipIf(missing)(missing ? pth.title : ncnn.title, () => {
  let fromNcnn: LoadedModel;
  let fromPth: LoadedModel;
  beforeAll(async () => {
    fromNcnn = await loadModelFile(fixture('ncnn', 'realesr-animevideov3-x4.param'), { threads: 2 });
    fromPth = await loadModelFile(fixture('weights', 'realesr-animevideov3.pth'), { threads: 2 });
  });
  afterAll(async () => {
    await fromNcnn?.release();
    await fromPth?.release();
  });

  it('states the same geometry as the .pth', () => {
    expect(fromNcnn.id).toBe('realesr-animevideov3-x4');
    for (const key of ['scale', 'alignment', 'receptiveRadius'] as const) expect(fromNcnn[key]).toBe(fromPth[key]);
    expect([fromNcnn.scale, fromNcnn.receptiveRadius]).toEqual([4, 18]);
  });

  for (const [name, path] of IMAGES) {
    it(`${name}: whole and tiled (64) within 3/255 of the .pth, mean under 0.5/255`, async () => {
      const input = await readRgb(fixture(...path));
      const reference = await upscale(input, fromPth, { tile: 0 });
      const whole = await upscale(input, fromNcnn, { tile: 0 });
      const tiled = await upscale(input, fromNcnn, { tile: 64 });
      expect([whole.width, whole.height]).toEqual([input.width * 4, input.height * 4]);
      const w = compare(whole, reference);
      const t = compare(tiled, reference);
      const seams = compare(tiled, whole);
      console.log(
        `${name}: ncnn vs .pth whole max ${w.max}/255 mean ${w.mean.toFixed(4)}/255; ` +
          `tiled max ${t.max}/255 mean ${t.mean.toFixed(4)}/255; tiled vs whole ncnn max ${seams.max}/255`,
      );
      for (const d of [w, t]) {
        expect(d.max).toBeLessThanOrEqual(3);
        expect(d.mean).toBeLessThan(0.5);
      }
      expect(seams.max).toBeLessThanOrEqual(1);
    });
  }
});
