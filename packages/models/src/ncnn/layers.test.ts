// Layer conversions checked on tiny hand-built ncnn models run through onnxruntime-node,
// against values worked out here by hand (or by a few lines that follow ncnn's own loops).
import { UnsupportedArchitectureError, type SuperresError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { convertNcnn } from './convert.js';
import { SUPPORTED_NCNN_LAYERS } from './layers/index.js';
import { BinWriter, paramText, randomArray, runOnnx } from './test-support/tiny-ncnn.js';

async function run(lines: string[], bin: Uint8Array, input: Float32Array, dims: number[]) {
  const converted = convertNcnn(paramText(lines), bin);
  return { ...(await runOnnx(converted.onnx, input, dims)), geometry: converted.geometry, hyper: converted.hyperparameters };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i]! - expected[i]!) > tolerance) {
      throw new Error(`value ${i}: ${actual[i]} != ${expected[i]} (all: [${Array.from(actual).join(', ')}])`);
    }
  }
}

const NONE = new Uint8Array(0);

describe('ncnn layers as ONNX', () => {
  it('Convolution 1x1 with bias: a per-pixel matrix product', async () => {
    // weight [out][in] = [[1, 2], [3, 4]], bias [0.5, -1]; pixels (1, 10) and (2, 20).
    const bin = new BinWriter().float32([1, 2, 3, 4]).raw([0.5, -1]).bytes();
    const out = await run(
      ['Input in 0 1 data', 'Convolution conv 1 1 data output 0=2 1=1 5=1 6=4'],
      bin,
      new Float32Array([1, 2, 10, 20]),
      [1, 2, 1, 2],
    );
    expect(out.dims).toEqual([1, 2, 1, 2]);
    expectClose(out.data, [1 + 20 + 0.5, 2 + 40 + 0.5, 3 + 40 - 1, 6 + 80 - 1]);
    expect(out.geometry).toMatchObject({ scale: 1, alignment: 1, receptiveRadius: 0 });
    expect(out.hyper.inputChannels).toBe(2);
  });

  it('Convolution 3x3, pad 1, fused leaky ReLU (activation_type 2), float16 weights', async () => {
    // All-ones kernel: each output is the sum of its 3x3 neighbourhood (zeros outside).
    const bin = new BinWriter().float16(new Array(9).fill(1)).bytes();
    const x = [1, -2, 3, -4, 5, -6, 7, -8, 9];
    const out = await run(
      ['Input in 0 1 data', 'Convolution conv 1 1 data output 0=1 1=3 4=1 6=9 9=2 -23310=1,1.000000e-01'],
      bin,
      new Float32Array(x),
      [1, 1, 3, 3],
    );
    const at = (r: number, c: number) => (r < 0 || r > 2 || c < 0 || c > 2 ? 0 : x[r * 3 + c]!);
    const expected: number[] = [];
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dr = -1; dr <= 1; dr++) for (let dc = -1; dc <= 1; dc++) sum += at(r + dr, c + dc);
        expected.push(sum > 0 ? sum : sum * 0.1);
      }
    }
    expectClose(out.data, expected);
    expect(out.geometry.receptiveRadius).toBe(1);
  });

  it('ConvolutionDepthWise (group = channels) with fused clip (activation_type 3)', async () => {
    // Channel 0 doubled, channel 1 negated, then clipped to [-1, 3].
    const bin = new BinWriter().float32([2, -1]).bytes();
    const out = await run(
      ['Input in 0 1 data', 'ConvolutionDepthWise dw 1 1 data output 0=2 1=1 6=2 7=2 9=3 -23310=2,-1.0,3.0'],
      bin,
      new Float32Array([1, 2, 0.5, 3]),
      [1, 2, 1, 2],
    );
    expectClose(out.data, [2, 3, -0.5, -1]);
  });

  it('PixelShuffle mode 0 is PyTorch pixel_shuffle (DepthToSpace CRD), mode 1 is DCR', async () => {
    const input = Float32Array.from({ length: 8 }, (_, i) => i); // channel c holds c
    const lines = (mode: number) => ['Input in 0 1 data', `PixelShuffle ps 1 1 data output 0=2 1=${mode}`];
    const crd = await run(lines(0), NONE, input, [1, 8, 1, 1]);
    expect(crd.dims).toEqual([1, 2, 2, 2]);
    // Output channel p, row i, column j <- input channel p*4 + i*2 + j.
    expectClose(crd.data, [0, 1, 2, 3, 4, 5, 6, 7]);
    const dcr = await run(lines(1), NONE, input, [1, 8, 1, 1]);
    // <- input channel (i*2 + j)*2 + p.
    expectClose(dcr.data, [0, 2, 4, 6, 1, 3, 5, 7]);
    expect(crd.geometry).toMatchObject({ scale: 2, alignment: 1, receptiveRadius: 0 });
  });

  it('Interp nearest x2 repeats each pixel 2x2', async () => {
    const out = await run(['Input in 0 1 data', 'Interp up 1 1 data output 0=1 1=2.0 2=2.0'], NONE, new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2]);
    expect(out.dims).toEqual([1, 1, 4, 4]);
    expectClose(out.data, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    expect(out.geometry).toMatchObject({ scale: 2, receptiveRadius: 0 });
  });

  it('Interp bilinear x2 samples at half-pixel centres and clamps at the edges, as ncnn', async () => {
    // ncnn linear_coeffs for w=2 -> 4: x = (dx + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped.
    const row = (a: number, b: number) => [a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b];
    const out = await run(['Input in 0 1 data', 'Interp up 1 1 data output 0=2 1=2.0 2=2.0'], NONE, new Float32Array([1, 2, 3, 5]), [1, 1, 2, 2]);
    const top = row(1, 2);
    const bottom = row(3, 5);
    const expected = row(0, 1).flatMap((_, r) => {
      const w = [1, 0.75, 0.25, 0][r]!;
      return top.map((t, i) => w * t + (1 - w) * bottom[i]!);
    });
    expectClose(out.data, expected);
    expect(out.geometry).toMatchObject({ scale: 2, receptiveRadius: 1 });
  });

  it('BinaryOp with a scalar: mul, rsub and pow', async () => {
    const out = await run(
      [
        'Input in 0 1 data',
        'BinaryOp half 1 1 data a 0=2 1=1 2=0.5',
        'BinaryOp flip 1 1 a b 0=7 1=1 2=1.0',
        'BinaryOp square 1 1 b output 0=6 1=1 2=2.0',
      ],
      NONE,
      new Float32Array([0, 1, 2, 4]),
      [1, 1, 2, 2],
    );
    expectClose(out.data, [1, 0.25, 0, 1]); // (1 - x/2)^2
  });

  it('BinaryOp with a per-channel MemoryData vector broadcasts over channels (ncnn aligns outer axes)', async () => {
    const bin = new BinWriter().raw([10, 20, 30]).bytes();
    const out = await run(
      ['Input in 0 1 data 2=3', 'MemoryData mean 0 1 mean 0=3', 'BinaryOp sub 2 1 data mean output 0=1'],
      bin,
      new Float32Array([1, 2, 3, 4, 5, 6]),
      [1, 3, 1, 2],
    );
    expectClose(out.data, [-9, -8, -17, -16, -25, -24]);
  });

  it('Eltwise sum with coeffs, max and product', async () => {
    const lines = (op: string) => ['Input in 0 1 data', 'Split s 1 2 data a b', 'ReLU r 1 1 b rb', `Eltwise e 2 1 a rb output ${op}`];
    const x = new Float32Array([-2, -1, 1, 3]);
    expectClose((await run(lines('0=1 -23301=2,2.0,-1.0'), NONE, x, [1, 1, 2, 2])).data, [-4, -2, 1, 3]);
    expectClose((await run(lines('0=1'), NONE, x, [1, 1, 2, 2])).data, [-2, -1, 2, 6]);
    expectClose((await run(lines('0=2'), NONE, x, [1, 1, 2, 2])).data, [0, 0, 1, 3]);
    expectClose((await run(lines('0=0'), NONE, x, [1, 1, 2, 2])).data, [-0, -0, 1, 9]);
  });

  it('Concat on channels (axis 0 excludes the batch) and Slice with -233', async () => {
    const out = await run(
      [
        'Input in 0 1 data 2=2',
        'Split s 1 2 data a b',
        'Concat cat 2 1 a b c 0=0',
        'Slice cut 1 2 c first rest -23300=2,1,-233',
        'Concat back 2 1 rest first output',
      ],
      NONE,
      new Float32Array([1, 2]),
      [1, 2, 1, 1],
    );
    // [x0, x1, x0, x1] -> first [x0], rest [x1, x0, x1] -> [x1, x0, x1, x0]
    expectClose(out.data, [2, 1, 2, 1]);
  });

  it('ReLU with a slope, Clip, Sigmoid, PReLU per channel', async () => {
    const bin = new BinWriter().raw([0.5, 0.25]).bytes();
    const x = new Float32Array([-4, 2, -8, 4]);
    const relu = await run(['Input in 0 1 data', 'ReLU r 1 1 data output 0=1.000000e-01'], NONE, x, [1, 1, 2, 2]);
    expectClose(relu.data, [-0.4, 2, -0.8, 4]);
    const clip = await run(['Input in 0 1 data', 'Clip c 1 1 data output 0=-1.0 1=3.0'], NONE, x, [1, 1, 2, 2]);
    expectClose(clip.data, [-1, 2, -1, 3]);
    const sigmoid = await run(['Input in 0 1 data', 'Sigmoid s 1 1 data output'], NONE, new Float32Array([0]), [1, 1, 1, 1]);
    expectClose(sigmoid.data, [0.5]);
    const prelu = await run(['Input in 0 1 data', 'PReLU p 1 1 data output 0=2'], bin, x, [1, 2, 1, 2]);
    expectClose(prelu.data, [-2, 2, -2, 4]);
  });

  /** ncnn's deconvolution loops: out[p][i*s + ky][j*s + kx] += x[q][i][j] * w(p, q, ky, kx), then the pads cut. */
  function deconvReference(
    x: Float32Array,
    [inCh, h, w]: [number, number, number],
    weight: (p: number, q: number, k: number) => number,
    { outCh, k, s, pad, bias, group = 1 }: { outCh: number; k: number; s: number; pad: number; bias: number[]; group?: number },
  ): number[] {
    const [H, W] = [(h - 1) * s + k, (w - 1) * s + k];
    const out: number[] = [];
    const inPerGroup = inCh / group;
    const outPerGroup = outCh / group;
    for (let p = 0; p < outCh; p++) {
      const g = Math.floor(p / outPerGroup);
      const full = new Float64Array(H * W).fill(bias[p]!);
      for (let q = g * inPerGroup; q < (g + 1) * inPerGroup; q++) {
        for (let i = 0; i < h; i++) {
          for (let j = 0; j < w; j++) {
            for (let ky = 0; ky < k; ky++) {
              for (let kx = 0; kx < k; kx++) {
                const at = (i * s + ky) * W + j * s + kx;
                full[at] = full[at]! + x[(q * h + i) * w + j]! * weight(p, q, ky * k + kx);
              }
            }
          }
        }
      }
      for (let r = pad; r < H - pad; r++) for (let c = pad; c < W - pad; c++) out.push(full[r * W + c]!);
    }
    return out;
  }

  it('Deconvolution stride 2, kernel 4, pad 1 follows ncnn (weights [out][in][kh][kw], pads cut)', async () => {
    const w = randomArray(3 * 2 * 16, 3); // out 3, in 2, 4x4
    const bias = [0.25, -0.5, 1];
    const bin = new BinWriter().float32(w).raw(bias).bytes();
    const x = randomArray(2 * 6, 4); // 2 channels, 2x3
    const out = await run(['Input in 0 1 data', 'Deconvolution up 1 1 data output 0=3 1=4 3=2 4=1 5=1 6=96'], bin, x, [1, 2, 2, 3]);
    expect(out.dims).toEqual([1, 3, 4, 6]);
    expectClose(out.data, deconvReference(x, [2, 2, 3], (p, q, k) => w[(p * 2 + q) * 16 + k]!, { outCh: 3, k: 4, s: 2, pad: 1, bias }));
    expect(out.geometry).toMatchObject({ scale: 2, alignment: 1, receptiveRadius: 1 });
  });

  it('DeconvolutionDepthWise with 2 groups (weights [group][out/group][in/group][kh][kw])', async () => {
    const w = randomArray(2 * 2 * 2 * 9, 5); // 2 groups x out 2 x in 2, 3x3
    const bias = [0.1, 0.2, 0.3, 0.4];
    const bin = new BinWriter().float32(w).raw(bias).bytes();
    const x = randomArray(4 * 6, 6); // 4 channels, 2x3
    const out = await run(['Input in 0 1 data', 'DeconvolutionDepthWise up 1 1 data output 0=4 1=3 3=2 4=1 5=1 6=72 7=2 18=1'], bin, x, [1, 4, 2, 3]);
    // Output (2-1)*2 + 3 + 1 (output pad) - 2 (cut) = 4 rows, (3-1)*2 + 3 + 1 - 2 = 6 columns: x2.
    expect(out.dims).toEqual([1, 4, 4, 6]);
    const weight = (p: number, q: number, k: number) => {
      const g = Math.floor(p / 2);
      return w[((g * 2 + (p % 2)) * 2 + (q - g * 2)) * 9 + k]!;
    };
    // The uncut 5x7 map grows a row and a column of bias (the output pad) to 6x8; one pixel is cut
    // on each side, which leaves rows 1..4 and columns 1..6 of the uncut map.
    const full = deconvReference(x, [4, 2, 3], weight, { outCh: 4, k: 3, s: 2, pad: 0, bias, group: 2 });
    const expected: number[] = [];
    for (let p = 0; p < 4; p++) {
      for (let r = 1; r <= 4; r++) {
        for (let c = 1; c <= 6; c++) expected.push(full[p * 35 + r * 7 + c]!);
      }
    }
    expectClose(out.data, expected);
  });

  it('Padding (reflect) then an unpadded convolution keeps the size', async () => {
    const bin = new BinWriter().float32([0, 0, 0, 1, 0, 0, 0, 0, 0]).bytes(); // picks the top-middle neighbour
    const out = await run(
      ['Input in 0 1 data', 'Padding pad 1 1 data p 0=1 1=1 2=1 3=1 4=2', 'Convolution conv 1 1 p output 0=1 1=3 6=9'],
      bin,
      new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      [1, 1, 3, 3],
    );
    // Kernel index 3 is row 1, column 0: the left neighbour, reflected at the left edge.
    expectClose(out.data, [2, 1, 2, 5, 4, 5, 8, 7, 8]);
    expect(out.geometry).toMatchObject({ scale: 1, receptiveRadius: 1 });
  });

  it('Crop removes a border given by offsets from both ends', async () => {
    const out = await run(
      ['Input in 0 1 data', 'Padding pad 1 1 data p 0=2 1=2 2=2 3=2', 'Crop crop 1 1 p output 0=2 1=2 6=2 7=2 3=-233 4=-233 5=-233'],
      NONE,
      new Float32Array([1, 2, 3, 4]),
      [1, 1, 2, 2],
    );
    expectClose(out.data, [1, 2, 3, 4]);
    expect(out.geometry).toMatchObject({ scale: 1, receptiveRadius: 0 });
  });

  it('states scale, alignment and radius of strided networks from the graph', () => {
    // Down by a stride-2 "same" convolution, up by a stride-2 deconvolution, skip connection.
    const lines = [
      'Input in 0 1 data 2=3',
      'Split s 1 2 data a b',
      'Convolution down 1 1 a d 0=4 1=3 3=2 4=-233 15=-233 14=-233 16=-233 5=1 6=108',
      'Deconvolution up 1 1 d u 0=4 1=4 3=2 4=1 5=1 6=256',
      'Concat cat 2 1 u b c',
      'Convolution out 1 1 c output 0=3 1=3 4=1 6=189',
    ];
    const bin = new BinWriter().float32(randomArray(108, 1)).raw(randomArray(4, 2)).float32(randomArray(256, 3)).raw(randomArray(4, 4)).float32(randomArray(189, 5)).bytes();
    const { geometry } = convertNcnn(paramText(lines), bin);
    expect(geometry.scale).toBe(1);
    expect(geometry.alignment).toBe(2);
    expect(geometry.receptiveRadius).toBeGreaterThanOrEqual(3);
  });

  it('names an unknown layer type and the layer, and lists the supported types', () => {
    let error: SuperresError | undefined;
    try {
      convertNcnn(paramText(['Input in 0 1 data', 'ReLU r 1 1 data x', 'MagicLayer wizard 1 1 x output']), NONE);
    } catch (e) {
      error = e as SuperresError;
    }
    expect(error).toBeInstanceOf(UnsupportedArchitectureError);
    expect(error!.code).toBe('E_UNSUPPORTED_ARCH');
    expect(error!.message).toMatch(/ncnn layer type "MagicLayer" \(layer "wizard", \.param line 5\) is not supported; supported types: .*Convolution.*PixelShuffle/);
    expect(SUPPORTED_NCNN_LAYERS).toContain('Interp');
  });

  it('refuses graphs that cannot be tiled or are not upscalers, saying why', () => {
    expect(() => convertNcnn(paramText(['Input in 0 1 data', 'Interp up 1 1 data output 0=2 1=2.0 2=2.0 6=1']), NONE)).toThrow(/align_corner=1/);
    expect(() => convertNcnn(paramText(['Input in 0 1 data', 'Interp up 1 1 data output 0=1 3=64 4=64']), NONE)).toThrow(/fixed 64x64/);
    expect(() => convertNcnn(paramText(['Input in 0 1 data', 'Interp up 1 1 data output 0=1 1=1.5 2=1.5']), NONE)).toThrow(/3\/2x wide/);
    expect(() => convertNcnn(paramText(['Input in 0 1 data', 'Convolution c 1 1 data output 0=1 1=3 6=9']), new BinWriter().float32(new Array(9).fill(0)).bytes())).toThrow(
      /output width is 1 x input - 2 pixels: not exactly 1 times the input/,
    );
    expect(() => convertNcnn(paramText(['Input in 0 1 data', 'Reshape r 1 1 data output 0=-1']), NONE)).toThrow(/reshapes an image-sized blob/);
    expect(() => convertNcnn(paramText(['Input in 0 1 data', 'Split s 1 2 data a b']), NONE)).toThrow(/has 2 output blobs \("a", "b"\)/);
  });
});
