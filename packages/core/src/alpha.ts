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
export function resizeAlphaInto(source: Image, target: Image): void {
  if (!hasAlpha(source.channels) || !hasAlpha(target.channels) || source.bitDepth !== target.bitDepth) {
    throw new BadImageError('resizeAlphaInto needs two images with alpha and the same bit depth');
  }
  const max = maxValue(source.bitDepth);
  const xs = linearTaps(source.width, target.width);
  const ys = linearTaps(source.height, target.height);
  const src = source.data;
  const dst = target.data;
  const sStride = source.channels;
  const tStride = target.channels;
  const sRow = source.width * sStride;
  const a = sStride - 1;
  for (let y = 0; y < target.height; y++) {
    const r0 = ys.i0[y]! * sRow + a;
    const r1 = ys.i1[y]! * sRow + a;
    const ty = ys.t[y]!;
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

interface LinearTaps {
  i0: Int32Array;
  i1: Int32Array;
  t: Float64Array;
}

function linearTaps(inSize: number, outSize: number): LinearTaps {
  const taps = { i0: new Int32Array(outSize), i1: new Int32Array(outSize), t: new Float64Array(outSize) };
  const scale = inSize / outSize;
  const last = inSize - 1;
  for (let d = 0; d < outSize; d++) {
    const f = Math.fround((d + 0.5) * scale - 0.5);
    const i = Math.floor(f);
    taps.i0[d] = Math.min(Math.max(i, 0), last);
    taps.i1[d] = Math.min(Math.max(i + 1, 0), last);
    taps.t[d] = Math.fround(f - i);
  }
  return taps;
}
