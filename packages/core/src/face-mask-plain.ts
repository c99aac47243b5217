/**
 * The paste-back mask without face parsing (facexlib's `paste_faces_to_input_image` with
 * use_parse False; docs/research/face-enhance-upstream.md 3.6), in the output's geometry: a
 * 512x512 square of ones warped back, eroded by a 2 x upscale square (that eroded mask also
 * weighs the pasted face), eroded again by a square of 2 w_edge, blurred by a Gaussian of size
 * 2 w_edge + 1 with OpenCV's default sigma, where w_edge = floor(sqrt(eroded area)) // 20.
 * Computed in double precision over the face's footprint grown by a margin wide enough that the
 * erosions and the blur see what they would on the whole image.
 */
import { gaussianBlur } from './face-mask.js';
import type { Affine } from './similarity-transform.js';
import { warpAffineLinearPlane, type WarpRegion } from './warp-affine.js';

export interface PlainMasks {
  /** Where the masks lie in the output. */
  readonly region: WarpRegion;
  /** The warped square eroded once: the pasted face is multiplied by it. */
  readonly eroded: Float64Array;
  /** The soft blending mask. */
  readonly soft: Float64Array;
}

/** OpenCV's erode with an empty kernel uses a 3x3 square. */
const kernelSize = (k: number) => (k > 0 ? k : 3);

/** cv2.erode(src, np.ones((k, k))) over a plane: min over [x - k/2, x - k/2 + k), outside ignored. */
export function erodeRect(src: Float64Array, width: number, height: number, size: number): Float64Array {
  const k = kernelSize(size);
  const anchor = Math.floor(k / 2);
  const rows = new Float64Array(src.length);
  const line = new Float64Array(Math.max(width, height));
  const out = new Float64Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) line[x] = src[y * width + x]!;
    slidingMin(line, width, k, anchor, (x, v) => (rows[y * width + x] = v));
  }
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) line[y] = rows[y * width + x]!;
    slidingMin(line, height, k, anchor, (y, v) => (out[y * width + x] = v));
  }
  return out;
}

/** Minimum of values[i - anchor .. i - anchor + k - 1] (clipped to [0, n)) for each i, by a monotonic deque. */
function slidingMin(values: Float64Array, n: number, k: number, anchor: number, put: (i: number, v: number) => void): void {
  const deque = new Int32Array(n);
  let head = 0;
  let tail = 0;
  let next = 0; // next index to push
  for (let i = 0; i < n; i++) {
    const last = Math.min(n - 1, i - anchor + k - 1);
    while (next <= last) {
      while (tail > head && values[deque[tail - 1]!]! >= values[next]!) tail--;
      deque[tail++] = next++;
    }
    const first = i - anchor;
    while (deque[head]! < first) head++;
    put(i, values[deque[head]!]!);
  }
}

/** The footprint grown by what the erosions and the blur can reach, clamped to the output. */
function grow(footprint: WarpRegion, upscale: number, width: number, height: number): WarpRegion {
  const wEdge = Math.floor(Math.floor(Math.sqrt(footprint.width * footprint.height)) / 20);
  const margin = kernelSize(Math.trunc(2 * upscale)) + kernelSize(2 * wEdge) + wEdge + 4;
  const x = Math.max(0, footprint.x - margin);
  const y = Math.max(0, footprint.y - margin);
  return {
    x,
    y,
    width: Math.min(width, footprint.x + footprint.width + margin) - x,
    height: Math.min(height, footprint.y + footprint.height + margin) - y,
  };
}

/** The masks for a crop of `cropSize` pasted by `matrix` (crop -> output) into a width x height output. */
export function plainFaceMasks(matrix: Affine, cropSize: number, upscale: number, width: number, height: number, footprint: WarpRegion): PlainMasks {
  const region = grow(footprint, upscale, width, height);
  const ones = new Float64Array(cropSize * cropSize).fill(1);
  const warped = warpAffineLinearPlane(ones, cropSize, cropSize, matrix, width, height, region);
  const eroded = erodeRect(warped, region.width, region.height, Math.trunc(2 * upscale));
  let area = 0;
  for (const v of eroded) area += v;
  const wEdge = Math.floor(Math.floor(Math.sqrt(area)) / 20);
  const center = erodeRect(eroded, region.width, region.height, 2 * wEdge);
  const soft = gaussianBlur(center, region.width, region.height, 2 * wEdge + 1, 0);
  return { region, eroded, soft };
}
