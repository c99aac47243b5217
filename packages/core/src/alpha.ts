import { BadImageError } from './errors.js';
import type { Image } from './image.js';
import { hasAlpha, maxValue } from './image.js';
import { quantize } from './quantize.js';

/**
 * Resizes `source`'s alpha channel into `target`'s alpha channel with cv2.INTER_LINEAR semantics
 * (the reference's `alpha_upsampler` other than 'realesrgan'): pixel centres at +0.5, source
 * coordinate `(d + 0.5) * in / out - 0.5`, indices clamped at the edges. Works on `a / max` in
 * float like the reference and quantises the result. Memory: O(width + height).
 */
export function resizeAlphaInto(source: Image, target: Image, rows: AlphaRows = {}): void {
  if (!hasAlpha(source.channels) || !hasAlpha(target.channels) || source.bitDepth !== target.bitDepth) {
    throw new BadImageError('resizeAlphaInto needs two images with alpha and the same bit depth');
  }
  const originY = rows.originY ?? 0;
  const from = rows.from ?? 0;
  const to = rows.to ?? target.height;
  const max = maxValue(source.bitDepth);
  const xs = linearTaps(source.width, target.width);
  const ys = linearTaps(source.height, rows.fullHeight ?? target.height, originY + from, to - from);
  const src = source.data;
  const dst = target.data;
  const sStride = source.channels;
  const tStride = target.channels;
  const sRow = source.width * sStride;
  const a = sStride - 1;
  for (let y = from; y < to; y++) {
    const r0 = ys.i0[y - from]! * sRow + a;
    const r1 = ys.i1[y - from]! * sRow + a;
    const ty = ys.t[y - from]!;
    let d = y * target.width * tStride + tStride - 1;
    for (let x = 0; x < target.width; x++, d += tStride) {
      const c0 = xs.i0[x]! * sStride;
      const c1 = xs.i1[x]! * sStride;
      const tx = xs.t[x]!;
      const top = Math.fround(src[r0 + c0]! / max) * (1 - tx) + Math.fround(src[r0 + c1]! / max) * tx;
      const bottom = Math.fround(src[r1 + c0]! / max) * (1 - tx) + Math.fround(src[r1 + c1]! / max) * tx;
      dst[d] = quantize(Math.fround(top * (1 - ty) + bottom * ty), max);
    }
  }
}

/**
 * Whether `image` has an alpha channel and every alpha sample is the maximum (255, or 65535 at
 * 16 bits): a fully opaque image, whose alpha `upscale()` does not run through the model but
 * sets to the maximum. Looks at rows `from` .. `to - 1` only when given; stops at the first
 * sample below the maximum.
 */
export function hasOpaqueAlpha(image: Image, rows: { from?: number; to?: number } = {}): boolean {
  if (!hasAlpha(image.channels)) return false;
  const max = maxValue(image.bitDepth);
  const stride = image.channels;
  const data = image.data;
  const end = Math.min(rows.to ?? image.height, image.height) * image.width * stride;
  for (let i = Math.max(0, rows.from ?? 0) * image.width * stride + stride - 1; i < end; i += stride) {
    if (data[i] !== max) return false;
  }
  return true;
}

/** Sets the alpha channel of rows `from` .. `to - 1` of `image` to the maximum (fully opaque). */
export function fillOpaqueAlpha(image: Image, from = 0, to = image.height): void {
  if (!hasAlpha(image.channels)) throw new BadImageError('fillOpaqueAlpha needs an image with alpha');
  const max = maxValue(image.bitDepth);
  const stride = image.channels;
  const end = Math.min(to, image.height) * image.width * stride;
  for (let i = Math.max(0, from) * image.width * stride + stride - 1; i < end; i += stride) image.data[i] = max;
}

/** Which rows to write: `target` may be a band whose row 0 is row `originY` of a `fullHeight`-tall image. */
export interface AlphaRows {
  /** Height of the whole resized image; default target.height. */
  fullHeight?: number;
  /** The full image's row that target's row 0 is; default 0. */
  originY?: number;
  /** Target rows to write, `from` inclusive, `to` exclusive; default all. */
  from?: number;
  to?: number;
}

interface LinearTaps {
  i0: Int32Array;
  i1: Int32Array;
  t: Float64Array;
}

/** Taps of outputs `first` .. `first + count - 1` of an `outSize` resize (all of them by default). */
function linearTaps(inSize: number, outSize: number, first = 0, count = outSize): LinearTaps {
  const taps = { i0: new Int32Array(count), i1: new Int32Array(count), t: new Float64Array(count) };
  const scale = inSize / outSize;
  const last = inSize - 1;
  for (let k = 0; k < count; k++) {
    const f = Math.fround((first + k + 0.5) * scale - 0.5);
    const i = Math.floor(f);
    taps.i0[k] = Math.min(Math.max(i, 0), last);
    taps.i1[k] = Math.min(Math.max(i + 1, 0), last);
    taps.t[k] = Math.fround(f - i);
  }
  return taps;
}
