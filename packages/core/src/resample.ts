import { InvalidOptionError } from './errors.js';
import type { Image } from './image.js';
import { createImage, maxValue, validateImage } from './image.js';
import { roundHalfEven } from './quantize.js';

/*
 * Separable Lanczos (a = 3) resampling for `outscale`. This differs from the reference's
 * cv2.INTER_LANCZOS4 on purpose: the kernel is widened by the reduction factor when shrinking, so
 * downscales are antialiased like Pillow and sharp (INTER_LANCZOS4 uses a fixed 8-tap kernel and
 * aliases). Taps falling outside the image are dropped and the rest renormalised (Pillow's edge
 * rule). Channels, alpha included, are filtered independently, as cv2 does.
 */

export const LANCZOS_A = 3;

/** The Lanczos window sinc(x) * sinc(x / a) on |x| < a. */
export function lanczos(x: number, a = LANCZOS_A): number {
  if (x === 0) return 1;
  if (x <= -a || x >= a) return 0;
  const px = Math.PI * x;
  return (a * Math.sin(px) * Math.sin(px / a)) / (px * px);
}

/** Per-output-sample taps for one axis: output i reads inputs start[i] .. start[i] + count[i] - 1. */
export interface ResampleTaps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  /** `stride` weights per output sample, normalised to sum 1. */
  readonly weights: Float64Array;
  readonly stride: number;
}

export function lanczosTaps(inSize: number, outSize: number, a = LANCZOS_A): ResampleTaps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // widen the kernel when shrinking: antialiasing
  const support = a * filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * stride);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.floor(center - support + 0.5), 0);
    const hi = Math.min(Math.floor(center + support + 0.5), inSize);
    let sum = 0;
    for (let x = lo; x < hi; x++) {
      const w = lanczos((x + 0.5 - center) / filterScale, a);
      weights[i * stride + x - lo] = w;
      sum += w;
    }
    if (sum !== 0) for (let k = 0; k < hi - lo; k++) weights[i * stride + k]! /= sum;
    start[i] = lo;
    count[i] = hi - lo;
  }
  return { start, count, weights, stride };
}

/**
 * Resamples to `width` x `height`, same channels and bit depth, values clamped and rounded.
 * Streams by output row: only the horizontally resampled input rows that the current output
 * row needs are kept (a ring of a kernel's height), never a full-size float intermediate.
 */
export function resampleLanczos(image: Image, width: number, height: number): Image {
  validateImage(image);
  checkSize(width, height);
  const out = createImage(width, height, image.channels, image.bitDepth);
  createLanczosStream(image, out).push(image, 0, image.height);
  return out;
}

/**
 * Lanczos resampling fed by rows: `push` hands over input rows in order (any number at a time,
 * from any buffer of the input's width), and every output row whose taps are all there is written
 * to `out` at once. Only a ring of a kernel's height of horizontally resampled rows is kept, so
 * the input never needs to exist whole: the pipeline pushes each band of tiles as it completes.
 */
export interface LanczosStream {
  /** Input rows `first` .. `first + count - 1`, read from `rows` (whose row 0 is input row `rowsOrigin`). */
  push(rows: Image, first: number, count: number, rowsOrigin?: number): void;
  /** Output rows written so far. */
  readonly rowsDone: number;
}

export function createLanczosStream(input: Pick<Image, 'width' | 'height' | 'channels' | 'bitDepth'>, out: Image): LanczosStream {
  checkSize(out.width, out.height);
  const h = lanczosTaps(input.width, out.width);
  const v = lanczosTaps(input.height, out.height);
  const channels = input.channels;
  const rowLength = out.width * channels;
  const ringSize = Math.min(v.stride, input.height);
  const ring = new Float64Array(ringSize * rowLength);
  const acc = new Float64Array(rowLength);
  const max = maxValue(out.bitDepth);
  const dst = out.data;
  let next = 0; // next input row expected
  let y = 0; // next output row to write
  const emitReady = () => {
    // Output row y is ready once its last tap's input row has arrived.
    while (y < out.height && v.start[y]! + v.count[y]! <= next) {
      const first = v.start[y]!;
      const n = v.count[y]!;
      acc.fill(0);
      for (let k = 0; k < n; k++) {
        const w = v.weights[y * v.stride + k]!;
        const base = ((first + k) % ringSize) * rowLength;
        for (let i = 0; i < rowLength; i++) acc[i]! += w * ring[base + i]!;
      }
      const o = y * rowLength;
      for (let i = 0; i < rowLength; i++) {
        const value = acc[i]!;
        dst[o + i] = value <= 0 ? 0 : value >= max ? max : roundHalfEven(value);
      }
      y++;
    }
  };
  return {
    push(rows, first, count, rowsOrigin = 0) {
      if (first !== next || rows.width !== input.width || rows.channels !== channels) {
        throw new InvalidOptionError(`Lanczos stream: expected input row ${next} of width ${input.width}, got row ${first} of width ${rows.width}`);
      }
      for (let r = first; r < first + count; r++) {
        resampleRow(rows, r - rowsOrigin, h, ring, (r % ringSize) * rowLength);
        next = r + 1;
        emitReady();
      }
    },
    get rowsDone() {
      return y;
    },
  };
}

function checkSize(width: number, height: number): void {
  for (const [name, value] of [['width', width], ['height', height]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidOptionError(`Resample ${name} must be an integer >= 1, got ${String(value)}`, {
        details: { option: name },
      });
    }
  }
}

/** Horizontal pass of row `sy` of `image` into `into` at `offset`. */
function resampleRow(image: Image, sy: number, taps: ResampleTaps, into: Float64Array, offset: number): void {
  const channels = image.channels;
  const src = image.data;
  const rowBase = sy * image.width * channels;
  const outWidth = taps.start.length;
  for (let x = 0; x < outWidth; x++) {
    const first = rowBase + taps.start[x]! * channels;
    const n = taps.count[x]!;
    const wBase = x * taps.stride;
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += taps.weights[wBase + k]! * src[first + k * channels + c]!;
      into[offset + x * channels + c] = sum;
    }
  }
}
