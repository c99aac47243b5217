/**
 * `cv2.warpAffine(src, M, (width, height))` with bilinear interpolation and a constant border, bit
 * for bit on 8-bit images (facts in docs/research/face-enhance-upstream.md, A.2): M maps source to
 * destination and is inverted first; each destination pixel's source position is computed in
 * fixed point (1/1024, rounded to 1/32 of a pixel); the four taps are weighted by integers that
 * sum to 2^15 and the sum is rounded back. Taps outside the source take the border value. This is
 * how face enhancement crops a face to the 512x512 template and pastes the restored face back.
 */
import { createImage, type Image } from './image.js';
import { invertAffine, type Affine } from './similarity-transform.js';
import { roundHalfEven } from './quantize.js';

const AB_BITS = 10;
const AB_SCALE = 1 << AB_BITS;
const INTER_BITS = 5;
const INTER_TAB_SIZE = 1 << INTER_BITS;
const ROUND_DELTA = AB_SCALE / INTER_TAB_SIZE / 2;
const COEF_BITS = 15;

// cvRound / saturate_cast<int>(double) round to nearest, ties to even: quantize.ts' roundHalfEven.

export interface WarpOptions {
  /** Per channel, for taps outside the source; default 0. */
  borderValue?: readonly number[];
  /**
   * Only this part of the width x height destination (the output is region-sized): positions
   * are still computed from absolute destination coordinates, so the pixels equal the whole warp's.
   */
  region?: WarpRegion;
}

export interface WarpRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The part of a width x height destination to compute: `region`, or all of it. */
function regionOf(width: number, height: number, region?: WarpRegion): WarpRegion {
  return region ?? { x: 0, y: 0, width, height };
}

/** Per destination column of `r`: its fixed-point offsets (OpenCV's adelta, bdelta), from absolute x. */
function columnDeltas(m: Affine, r: WarpRegion): { adelta: Int32Array; bdelta: Int32Array } {
  const adelta = new Int32Array(r.width);
  const bdelta = new Int32Array(r.width);
  for (let i = 0; i < r.width; i++) {
    adelta[i] = roundHalfEven(m[0] * (r.x + i) * AB_SCALE);
    bdelta[i] = roundHalfEven(m[3] * (r.x + i) * AB_SCALE);
  }
  return { adelta, bdelta };
}

/** An 8-bit image warped by `matrix` (source -> destination) into `width` x `height` (or its `region`). */
export function warpAffine(src: Image, matrix: Affine, width: number, height: number, options: WarpOptions = {}): Image {
  if (src.bitDepth !== 8) throw new RangeError('warpAffine: 8-bit images only');
  const m = invertAffine(matrix);
  const cn = src.channels;
  const border = Array.from({ length: cn }, (_, c) => options.borderValue?.[c] ?? 0);
  const r = regionOf(width, height, options.region);
  const out = createImage(r.width, r.height, cn, 8);
  const s = src.data;
  const d = out.data;
  const { adelta, bdelta } = columnDeltas(m, r);
  const sw = src.width;
  const sh = src.height;
  for (let ry = 0; ry < r.height; ry++) {
    const y = r.y + ry;
    const x0 = roundHalfEven((m[1] * y + m[2]) * AB_SCALE) + ROUND_DELTA;
    const y0 = roundHalfEven((m[4] * y + m[5]) * AB_SCALE) + ROUND_DELTA;
    for (let x = 0; x < r.width; x++) {
      const X = (x0 + adelta[x]!) >> (AB_BITS - INTER_BITS);
      const Y = (y0 + bdelta[x]!) >> (AB_BITS - INTER_BITS);
      const sx = X >> INTER_BITS;
      const sy = Y >> INTER_BITS;
      const fx = X & (INTER_TAB_SIZE - 1);
      const fy = Y & (INTER_TAB_SIZE - 1);
      // Bilinear weights in units of 2^-15: exact products of 1/32 steps, summing to 2^15.
      const w00 = (INTER_TAB_SIZE - fy) * (INTER_TAB_SIZE - fx) * 32;
      const w01 = (INTER_TAB_SIZE - fy) * fx * 32;
      const w10 = fy * (INTER_TAB_SIZE - fx) * 32;
      const w11 = fy * fx * 32;
      const o = (ry * r.width + x) * cn;
      if (sx >= sw || sx + 1 < 0 || sy >= sh || sy + 1 < 0) {
        for (let c = 0; c < cn; c++) d[o + c] = border[c]!;
        continue;
      }
      const in0 = sy >= 0 && sy < sh;
      const in1 = sy + 1 >= 0 && sy + 1 < sh;
      const inx0 = sx >= 0 && sx < sw;
      const inx1 = sx + 1 >= 0 && sx + 1 < sw;
      const r0 = sy * sw;
      const r1 = (sy + 1) * sw;
      for (let c = 0; c < cn; c++) {
        const v00 = in0 && inx0 ? s[(r0 + sx) * cn + c]! : border[c]!;
        const v01 = in0 && inx1 ? s[(r0 + sx + 1) * cn + c]! : border[c]!;
        const v10 = in1 && inx0 ? s[(r1 + sx) * cn + c]! : border[c]!;
        const v11 = in1 && inx1 ? s[(r1 + sx + 1) * cn + c]! : border[c]!;
        const v = (v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11 + (1 << (COEF_BITS - 1))) >> COEF_BITS;
        d[o + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}

const f32 = Math.fround;

/**
 * `cv2.warpAffine(src, M, (width, height), flags=3)` on a plane of doubles with a zero border, as
 * the paste-back warps its soft mask. flags=3 is INTER_AREA, which warpAffine runs as bilinear:
 * the same fixed-point positions as the 8-bit warp, float32 weights, sums in double. With
 * `region`, only that part (region-sized output), pixel for pixel as in the whole warp.
 */
export function warpAffineLinearPlane(
  src: Float64Array,
  srcWidth: number,
  srcHeight: number,
  matrix: Affine,
  width: number,
  height: number,
  region?: WarpRegion,
): Float64Array {
  const m = invertAffine(matrix);
  const r = regionOf(width, height, region);
  const out = new Float64Array(r.width * r.height);
  const { adelta, bdelta } = columnDeltas(m, r);
  const at = (yy: number, xx: number) => (yy >= 0 && yy < srcHeight && xx >= 0 && xx < srcWidth ? src[yy * srcWidth + xx]! : 0);
  for (let ry = 0; ry < r.height; ry++) {
    const y = r.y + ry;
    const x0 = roundHalfEven((m[1] * y + m[2]) * AB_SCALE) + ROUND_DELTA;
    const y0 = roundHalfEven((m[4] * y + m[5]) * AB_SCALE) + ROUND_DELTA;
    for (let x = 0; x < r.width; x++) {
      const X = (x0 + adelta[x]!) >> (AB_BITS - INTER_BITS);
      const Y = (y0 + bdelta[x]!) >> (AB_BITS - INTER_BITS);
      const sx = X >> INTER_BITS;
      const sy = Y >> INTER_BITS;
      if (sx >= srcWidth || sx + 1 < 0 || sy >= srcHeight || sy + 1 < 0) continue; // all taps in the zero border
      const fx = f32((X & (INTER_TAB_SIZE - 1)) / INTER_TAB_SIZE);
      const fy = f32((Y & (INTER_TAB_SIZE - 1)) / INTER_TAB_SIZE);
      const w0 = f32(f32(1 - fy) * f32(1 - fx));
      const w1 = f32(f32(1 - fy) * fx);
      const w2 = f32(fy * f32(1 - fx));
      const w3 = f32(fy * fx);
      const t0 = at(sy, sx) * w0 + at(sy, sx + 1) * w1;
      const t1 = at(sy + 1, sx) * w2 + at(sy + 1, sx + 1) * w3;
      out[ry * r.width + x] = t0 + t1;
    }
  }
  return out;
}
