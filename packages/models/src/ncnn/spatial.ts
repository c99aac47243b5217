/**
 * Where each blob's pixels come from in the input image, tracked statically so the converted
 * model can state its scale, alignment and receptive radius (and tiles stay seamless).
 *
 * Per axis, a blob is described by:
 * - `scale`: its pixels per input pixel (4 after a x4 PixelShuffle, 1/2 after a stride-2 conv);
 * - `origin`: local pixel p stands at input position (p - origin) / scale; its "anchor" is the
 *   input pixel floor((p - origin) / scale). Which input pixel an output pixel "stands at" is a
 *   convention (a convolution's window centre, ...); dependencies are always measured from the
 *   anchor, and re-measured when blobs of different origins meet and at the network's output;
 * - `extra`: its size is scale * W + extra for an input of W pixels (W a multiple of the alignment);
 * - `lo`, `hi`: local pixel p depends only on input pixels anchor(p) + lo .. anchor(p) + hi.
 *
 * A layer maps each output pixel q to a window of input pixels [first(q), last(q)]; then
 * lo' = lo + min_q (anchor_in(first(q)) - anchor_out(q)) and hi' likewise with max and last(q).
 * The pattern repeats with a period of a few pixels, so one period is enumerated exactly. For
 * the network output (scale S, origin 0, extra 0), output pixel P depends on input pixels
 * floor(P/S) + lo .. floor(P/S) + hi: a tile pad of max(-lo, hi) makes tiling exact, provided every
 * tile starts at a multiple of the alignment (the least common multiple of the scale
 * denominators, so that every blob's pixel grid moves by whole pixels with the tile).
 */
import { UnsupportedArchitectureError } from '@superres/core';
import { ONE, ZERO, div, equal, mul, rational, show, sub, type Rational } from './rational.js';

export interface Axis {
  readonly scale: Rational;
  readonly origin: Rational;
  readonly extra: number;
  readonly lo: number;
  readonly hi: number;
}

export interface Spatial {
  readonly y: Axis;
  readonly x: Axis;
}

export const INPUT_AXIS: Axis = { scale: ONE, origin: ZERO, extra: 0, lo: 0, hi: 0 };
export const INPUT_SPATIAL: Spatial = { y: INPUT_AXIS, x: INPUT_AXIS };

/** Largest period enumerated; real networks need a handful of pixels. */
const MAX_PERIOD = 1 << 16;

function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}

/** floor((p - origin) / scale), exactly. */
export function anchor(axis: Pick<Axis, 'scale' | 'origin'>, p: number): number {
  const { origin: o, scale: s } = axis;
  // (p - on/od) / (sn/sd) = (p*od - on) * sd / (od * sn)
  return floorDiv((p * o.d - o.n) * s.d, o.d * s.n);
}

export interface AxisMap {
  readonly scale: Rational;
  readonly origin: Rational;
  readonly extra: number;
  /** First and last input pixel output pixel q reads (interior pixels: no image border). */
  readonly first: (q: number) => number;
  readonly last: (q: number) => number;
  /** A number of output pixels after which first/last repeat shifted (a stride, a factor). */
  readonly period: number;
}

/** The axis of a layer's output, from its input's and how the layer reads it. */
export function mapAxis(input: Axis, map: AxisMap, where: () => string): Axis {
  // After `period` output pixels the windows have moved by whole input periods: a multiple of
  // the output scale's numerator (anchors move by whole pixels) times the input's.
  const period = map.scale.n * map.period * input.scale.n;
  if (!Number.isSafeInteger(period) || period > MAX_PERIOD) {
    throw new UnsupportedArchitectureError(`${where()}: its scale (${show(map.scale)}) is too irregular to analyse for tiling`);
  }
  // Start far from 0 so windows stay inside the image (the border is not what tiling changes).
  const start = period * Math.ceil(4096 / period);
  let lo = Infinity;
  let hi = -Infinity;
  for (let q = start; q < start + period; q++) {
    const a = anchor(map, q);
    lo = Math.min(lo, anchor(input, map.first(q)) - a);
    hi = Math.max(hi, anchor(input, map.last(q)) - a);
  }
  return { scale: map.scale, origin: map.origin, extra: map.extra, lo: input.lo + lo, hi: input.hi + hi };
}

/**
 * The same axis with its anchors measured from another origin: where local pixel p's anchor moves
 * by d (over one period), its dependencies relative to the new anchor widen by d.
 */
export function reanchor(axis: Axis, origin: Rational): Axis {
  if (equal(axis.origin, origin)) return axis;
  const moved = { scale: axis.scale, origin };
  let lo = Infinity;
  let hi = -Infinity;
  const period = axis.scale.n;
  const start = period * Math.ceil(4096 / period);
  for (let p = start; p < start + period; p++) {
    const d = anchor(axis, p) - anchor(moved, p);
    lo = Math.min(lo, d);
    hi = Math.max(hi, d);
  }
  return { ...axis, origin, lo: axis.lo + lo, hi: axis.hi + hi };
}

/**
 * Axes of blobs a layer combines pixel by pixel must be the same size; the dependencies merge
 * (measured from the first one's origin).
 */
export function mergeAxes(axes: readonly Axis[], where: () => string): Axis {
  const [first, ...rest] = axes;
  if (!first) throw new RangeError('mergeAxes needs at least one axis');
  for (const a of rest) {
    if (!equal(a.scale, first.scale) || a.extra !== first.extra) {
      throw new UnsupportedArchitectureError(
        `${where()}: combines blobs of different sizes (${describeAxis(first)} and ${describeAxis(a)}), which ncnn would refuse at run time`,
      );
    }
  }
  const aligned = axes.map((a) => reanchor(a, first.origin));
  return {
    ...first,
    lo: Math.min(...aligned.map((a) => a.lo)),
    hi: Math.max(...aligned.map((a) => a.hi)),
  };
}

export function describeAxis(a: Axis): string {
  const extra = a.extra === 0 ? '' : a.extra > 0 ? ` + ${a.extra}` : ` - ${-a.extra}`;
  return `${show(a.scale)} x input${extra}`;
}

// ---- the axis maps of the layer kinds -----------------------------------------------------------

/**
 * A convolution: output q reads input [q*stride - padBegin, ... + extent - 1]; its anchor is the
 * window's centre pixel.
 */
export function convolutionAxis(input: Axis, k: { extent: number; stride: number; padBegin: number; padEnd: number }): AxisMap {
  const { extent, stride, padBegin, padEnd } = k;
  const centre = Math.floor((extent - 1) / 2);
  return {
    scale: div(input.scale, rational(stride)),
    origin: div(sub(input.origin, rational(centre - padBegin)), rational(stride)),
    extra: floorDiv(input.extra + padBegin + padEnd - extent, stride) + 1,
    first: (q) => q * stride - padBegin,
    last: (q) => q * stride - padBegin + extent - 1,
    period: stride,
  };
}

/** A transposed convolution: input i spreads to outputs i*stride + k*dilation, then padBegin is cut. */
export function deconvolutionAxis(
  input: Axis,
  k: { extent: number; stride: number; padBegin: number; padEnd: number; outputPad: number },
): AxisMap {
  const { extent, stride, padBegin, padEnd, outputPad } = k;
  const centre = Math.floor((extent - 1) / 2);
  return {
    scale: mul(input.scale, rational(stride)),
    origin: rational(input.origin.n * stride + (centre - padBegin) * input.origin.d, input.origin.d),
    extra: (input.extra - 1) * stride + extent + outputPad - padBegin - padEnd,
    first: (q) => Math.ceil((q + padBegin - (extent - 1)) / stride),
    last: (q) => Math.floor((q + padBegin) / stride),
    period: stride,
  };
}

/** Upsampling by a whole factor where output q reads input floor(q / factor) (PixelShuffle, nearest). */
export function replicateAxis(input: Axis, factor: number): AxisMap {
  return {
    scale: mul(input.scale, rational(factor)),
    origin: mul(input.origin, rational(factor)),
    extra: input.extra * factor,
    first: (q) => Math.floor(q / factor),
    last: (q) => Math.floor(q / factor),
    period: factor,
  };
}

/**
 * Interp by a scale factor k = n/d: nearest reads floor(q / k); bilinear and bicubic (half-pixel
 * centres, as ncnn's Interp without align_corner) read around (q + 0.5) / k - 0.5, 2 and 4 taps.
 */
export function resizeAxis(input: Axis, k: Rational, mode: 'nearest' | 'bilinear' | 'bicubic'): AxisMap {
  const sample = (q: number) => Math.floor(((2 * q + 1) * k.d - k.n) / (2 * k.n));
  const window =
    mode === 'nearest'
      ? { first: (q: number) => Math.floor((q * k.d) / k.n), last: (q: number) => Math.floor((q * k.d) / k.n) }
      : mode === 'bilinear'
        ? { first: sample, last: (q: number) => sample(q) + 1 }
        : { first: (q: number) => sample(q) - 1, last: (q: number) => sample(q) + 2 };
  const extraScaled = (input.extra * k.n) / k.d;
  return {
    scale: mul(input.scale, k),
    origin: mul(input.origin, k),
    extra: Math.floor(extraScaled),
    ...window,
    period: k.n * k.d,
  };
}

/** Padding (begin, end > 0) or cropping (negative): output q reads input q - begin. */
export function shiftAxis(input: Axis, begin: number, end: number): AxisMap {
  return {
    scale: input.scale,
    origin: rational(input.origin.n + begin * input.origin.d, input.origin.d),
    extra: input.extra + begin + end,
    first: (q) => q - begin,
    last: (q) => q - begin,
    period: 1,
  };
}
