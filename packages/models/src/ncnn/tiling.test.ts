// The geometry a conversion states (scale, alignment, receptive radius) is what makes tiles
// seamless: tiled runs with tile pad = the stated radius must equal the whole-image run, for
// networks that stride down and up, concatenate skips, pad by reflection, dilate and resample.
import { fromSession, upscale, type Image, type InferenceSession } from '@superres/core';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { convertNcnn } from './convert.js';
import { BinWriter, paramText, random, randomArray } from './test-support/tiny-ncnn.js';

const sessions: ort.InferenceSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release();
});

async function model(lines: string[], bin: Uint8Array) {
  const { onnx, geometry } = convertNcnn(paramText(lines), bin);
  const ortSession = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  sessions.push(ortSession);
  const session: InferenceSession = {
    async run(input) {
      const result = await ortSession.run({ [ortSession.inputNames[0]!]: new ort.Tensor('float32', input.data, [...input.dims]) });
      const out = result[ortSession.outputNames[0]!]!;
      return { data: out.data as Float32Array, dims: [...out.dims] };
    },
    release: async () => undefined,
  };
  return { geometry, model: fromSession({ id: 'tiny', ...geometry }, session) };
}

function randomImage(width: number, height: number, seed: number): Image {
  const next = random(seed);
  return { width, height, channels: 3, bitDepth: 8, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor((next() + 0.5) * 256)) };
}

function diff(a: Image, b: Image): { max: number; differing: number } {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let max = 0;
  let differing = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (d > 0) differing++;
    max = Math.max(max, d);
  }
  return { max, differing };
}

const NETWORKS: { name: string; lines: string[]; bin: () => Uint8Array; expect: { scale: number; alignment: number } }[] = [
  {
    name: 'stride-2 "same" convolution down, stride-2 deconvolution up, concatenated skip, bilinear base',
    lines: [
      'Input in 0 1 data 2=3',
      'Split s 1 3 data a b c',
      'Convolution down 1 1 a d 0=4 1=3 3=2 4=-233 15=-233 14=-233 16=-233 5=1 6=108 9=1',
      'Deconvolution up 1 1 d u 0=4 1=4 3=2 4=1 5=1 6=256',
      'Concat cat 2 1 u b k',
      'Convolution head 1 1 k h 0=12 1=3 4=1 5=1 6=756',
      'PixelShuffle ps 1 1 h r 0=2',
      'Interp base 1 1 c bb 0=2 1=2.0 2=2.0',
      'BinaryOp add 2 1 r bb output 0=0',
    ],
    bin: () =>
      new BinWriter()
        .float32(randomArray(108, 1, 0.5))
        .raw(randomArray(4, 2, 0.1))
        .float16(randomArray(256, 3, 0.5))
        .raw(randomArray(4, 4, 0.1))
        .float32(randomArray(756, 5, 0.3))
        .raw(randomArray(12, 6, 0.1))
        .bytes(),
    expect: { scale: 2, alignment: 2 },
  },
  {
    name: 'reflection padding, dilated unpadded convolution with fused leaky ReLU, bicubic base',
    lines: [
      'Input in 0 1 data',
      'Split s 1 2 data a b',
      'Padding pad 1 1 a p 0=2 1=2 2=2 3=2 4=2',
      'Convolution c 1 1 p f 0=12 1=3 2=2 5=1 6=324 9=2 -23310=1,2.000000e-01',
      'PixelShuffle ps 1 1 f r 0=2',
      'Interp base 1 1 b bb 0=3 1=2.0 2=2.0',
      'BinaryOp add 2 1 r bb output 0=0',
    ],
    bin: () => new BinWriter().float32(randomArray(324, 7, 0.5)).raw(randomArray(12, 8, 0.1)).bytes(),
    expect: { scale: 2, alignment: 1 },
  },
  {
    name: 'nearest x2 inside the trunk, then a 5x5 convolution at the higher resolution (x2 overall)',
    lines: [
      'Input in 0 1 data',
      'Split s 1 2 data a b',
      'Convolution c0 1 1 a f 0=4 1=3 4=1 5=1 6=108 9=1',
      'Interp up 1 1 f g 0=1 1=2.0 2=2.0',
      'Convolution c1 1 1 g h 0=3 1=5 4=2 5=1 6=300',
      'Interp base 1 1 b bb 0=1 1=2.0 2=2.0',
      'Eltwise add 2 1 h bb output 0=1',
    ],
    bin: () => new BinWriter().float32(randomArray(108, 9, 0.5)).raw(randomArray(4, 10, 0.1)).float32(randomArray(300, 11, 0.2)).raw(randomArray(3, 12, 0.1)).bytes(),
    expect: { scale: 2, alignment: 1 },
  },
];

describe('tiles of converted ncnn networks match the whole image with tile pad = the stated radius', () => {
  for (const net of NETWORKS) {
    it(net.name, async () => {
      const { geometry, model: m } = await model(net.lines, net.bin());
      expect(geometry).toMatchObject(net.expect);
      const image = randomImage(45, 37, 99);
      const whole = await upscale(image, m, { tile: 0 });
      for (const tile of [8, 14]) {
        const tiled = await upscale(image, m, { tile, tilePad: geometry.receptiveRadius });
        const d = diff(tiled, whole);
        // Float sums in another order may flip a rounding; a missing pixel of context shows as many.
        expect(d.max, `tile ${tile}, radius ${geometry.receptiveRadius}: ${d.differing} samples differ`).toBeLessThanOrEqual(1);
        expect(d.differing).toBeLessThan(20);
      }
      // And the radius is not idle: one pixel less of pad breaks the seams (where the alignment
      // does not round the pad back up).
      if (geometry.alignment === 1) {
        const short = await upscale(image, m, { tile: 8, tilePad: geometry.receptiveRadius - 1 });
        expect(diff(short, whole).max).toBeGreaterThan(1);
      }
    });
  }
});
