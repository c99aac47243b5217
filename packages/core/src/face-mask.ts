/**
 * The soft mask face enhancement pastes a restored face through (facexlib's
 * `paste_faces_to_input_image` with parsing; facts in docs/research/face-enhance-upstream.md
 * sections 3.6 and A.3): the parsing network's most likely class per pixel, 255 for face classes
 * (skin, brows, eyes, glasses, ears, nose, mouth, lips, hair, earrings) and 0 for the rest
 * (background, hat, necklace, neck, cloth), blurred twice by a 101x101 Gaussian of sigma 11
 * (reflect-101 borders, in double precision), a 10-pixel frame set to 0, scaled to [0, 1].
 */

/** Per parsing class (CelebAMask-HQ order): 255 where the class is part of the face. */
export const PARSING_MASK_VALUES: readonly number[] = [0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 255, 0, 0, 0];

const BLUR_SIZE = 101;
const BLUR_SIGMA = 11;
const FRAME = 10;

/** OpenCV's fixed kernels for sigma <= 0 and odd sizes up to 7. */
const SMALL_GAUSSIAN: Record<number, readonly number[]> = {
  1: [1],
  3: [0.25, 0.5, 0.25],
  5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
  7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
};

/** cv2.getGaussianKernel(size, sigma, CV_64F); sigma <= 0 derives it from the size, as OpenCV does. */
export function gaussianKernel(size: number, givenSigma: number): Float64Array {
  if (givenSigma <= 0 && SMALL_GAUSSIAN[size]) return Float64Array.from(SMALL_GAUSSIAN[size]!);
  const sigma = givenSigma > 0 ? givenSigma : 0.3 * ((size - 1) * 0.5 - 1) + 0.8;
  const kernel = new Float64Array(size);
  const scale = -0.5 / (sigma * sigma);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = i - (size - 1) * 0.5;
    kernel[i] = Math.exp(scale * x * x);
    sum += kernel[i]!;
  }
  for (let i = 0; i < size; i++) kernel[i]! /= sum;
  return kernel;
}

/** Index of BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba) for p in [-(n-1), 2n-2]. */
function reflect101(p: number, n: number): number {
  if (n === 1) return 0;
  let q = p;
  while (q < 0 || q >= n) q = q < 0 ? -q : 2 * n - 2 - q;
  return q;
}

/** cv2.GaussianBlur(src, (size, size), sigma) on a width x height plane of doubles. */
export function gaussianBlur(src: Float64Array, width: number, height: number, size: number, sigma: number): Float64Array {
  const k = gaussianKernel(size, sigma);
  const r = (size - 1) / 2;
  const rows = new Float64Array(src.length);
  for (let y = 0; y < height; y++) {
    const o = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let i = 0; i < size; i++) s += k[i]! * src[o + reflect101(x + i - r, width)]!;
      rows[o + x] = s;
    }
  }
  const out = new Float64Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let i = 0; i < size; i++) s += k[i]! * rows[reflect101(y + i - r, height) * width + x]!;
      out[y * width + x] = s;
    }
  }
  return out;
}

/**
 * The paste-back mask from parsing logits [classes, size, size] (planar, as the network gives
 * them): values in [0, 1], size x size, row-major.
 */
export function faceMaskFromParsing(logits: Float32Array, classes: number, size: number): Float64Array {
  const plane = size * size;
  if (logits.length !== classes * plane) throw new RangeError(`faceMaskFromParsing: ${logits.length} logits for ${classes} x ${size} x ${size}`);
  let mask: Float64Array = new Float64Array(plane);
  for (let p = 0; p < plane; p++) {
    // argmax, the first of equal maxima (as torch.argmax).
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[c * plane + p]! > logits[best * plane + p]!) best = c;
    mask[p] = PARSING_MASK_VALUES[best] ?? 0;
  }
  mask = gaussianBlur(gaussianBlur(mask, size, size, BLUR_SIZE, BLUR_SIGMA), size, size, BLUR_SIZE, BLUR_SIGMA);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = y * size + x;
      mask[p] = y < FRAME || y >= size - FRAME || x < FRAME || x >= size - FRAME ? 0 : mask[p]! / 255;
    }
  }
  return mask;
}
