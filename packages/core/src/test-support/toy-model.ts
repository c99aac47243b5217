import type { LoadedModel } from '../model.js';
import type { Tensor } from '../image.js';
import type { RunOptions } from '../backend.js';

/**
 * A deterministic pure-JS stand-in for a super-resolution network, for tests of the pipeline.
 * `layers` stacked 3x3 convolutions (fixed, non-symmetric weights, a little cross-channel mixing,
 * zero padding at the borders like PyTorch) give a receptive radius of exactly `layers`; then a
 * per-sub-pixel weighted expansion by `scale`. Kernel sums above 1 plus a bias push some outputs
 * outside [0, 1], so clamping is exercised. Inputs must be multiples of `alignment`.
 */
export interface ToyModelOptions {
  scale: number;
  alignment?: number;
  layers?: number;
  id?: string;
  /** Plain nearest expansion (no per-sub-pixel weighting). */
  nearest?: boolean;
}

export interface ToyModel extends LoadedModel {
  /** [height, width] of each input run, in order. */
  readonly calls: Array<readonly [number, number]>;
}

const KERNELS: readonly (readonly number[])[] = [
  [0.05, 0.1, 0.03, 0.12, 0.55, 0.08, 0.02, 0.15, 0.1],
  [0.1, 0.02, 0.07, 0.04, 0.6, 0.15, 0.09, 0.05, 0.03],
  [0.01, 0.13, 0.06, 0.11, 0.5, 0.02, 0.14, 0.04, 0.12],
];
const MIX = 0.08;
const BIAS = [-0.03, 0.02, -0.01];

export function createToyModel({ scale, alignment = 1, layers = 2, id = 'toy', nearest = false }: ToyModelOptions): ToyModel {
  const calls: Array<readonly [number, number]> = [];
  return {
    id,
    scale,
    alignment,
    receptiveRadius: layers,
    calls,
    async run(input: Tensor, _options?: RunOptions): Promise<Tensor> {
      const [n, c, h, w] = input.dims;
      if (n !== 1 || c !== 3 || !h || !w) throw new Error(`toy model: bad input dims [${input.dims.join(', ')}]`);
      if (h % alignment !== 0 || w % alignment !== 0) {
        throw new Error(`toy model: input ${w}x${h} is not a multiple of ${alignment}`);
      }
      calls.push([h, w]);
      let x = input.data;
      for (let l = 0; l < layers; l++) x = conv(x, w, h);
      return expand(x, w, h, scale, nearest);
    },
    async release() {},
  };
}

function conv(src: Float32Array, w: number, h: number): Float32Array {
  const plane = w * h;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const k = KERNELS[c]!;
    const base = c * plane;
    const next = ((c + 1) % 3) * plane;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let sum = BIAS[c]! + MIX * src[next + y * w + x]!;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= h) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= w) continue;
            sum += k[(dy + 1) * 3 + dx + 1]! * src[base + yy * w + xx]!;
          }
        }
        out[base + y * w + x] = sum;
      }
    }
  }
  return out;
}

function expand(src: Float32Array, w: number, h: number, s: number, nearest: boolean): Tensor {
  const ow = w * s;
  const oh = h * s;
  const out = new Float32Array(3 * ow * oh);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const i = y % s;
        const j = x % s;
        const v = src[c * w * h + Math.floor(y / s) * w + Math.floor(x / s)]!;
        out[c * ow * oh + y * ow + x] = nearest ? v : v * (0.92 + 0.05 * i - 0.03 * j) + 0.01 * (i - j);
      }
    }
  }
  return { data: out, dims: [1, 3, oh, ow] };
}

/** Nearest-neighbour "network": outputs equal inputs, replicated `scale` times. */
export function createIdentityModel(scale: number, alignment = 1): ToyModel {
  return createToyModel({ scale, alignment, layers: 0, nearest: true, id: `identity-x${scale}` });
}
