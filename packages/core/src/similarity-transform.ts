/**
 * The similarity transform (rotation, uniform scale, translation) facexlib aligns a face with:
 * OpenCV's `estimateAffinePartial2D(from, to, method=LMEDS)` as FaceRestoreHelper calls it (facts
 * in docs/research/face-enhance-upstream.md, A.1). Least-median-of-squares over 2-point samples
 * drawn by OpenCV's generator seeded the same way on every call (so the same samples for every
 * face), inliers within 2.5 * 1.4826 * (1 + 5 / (n - 2)) * sqrt(median), then the least-squares
 * similarity over the inliers (what OpenCV's Levenberg-Marquardt refinement converges to: the
 * problem is linear). Points are rounded to float32 first, as OpenCV converts them.
 */

export type Point = readonly [number, number];
/** [a, -b, tx, b, a, ty]: x' = a x - b y + tx, y' = b x + a y + ty (row-major 2x3). */
export type Affine = readonly [number, number, number, number, number, number];

/** The five-point FFHQ template of 512x512 face crops (eyes, nose, mouth corners; facexlib). */
export const FFHQ_TEMPLATE_512: readonly Point[] = [
  [192.98138, 239.94708],
  [318.90277, 240.1936],
  [256.63416, 314.01935],
  [201.26117, 371.41043],
  [313.08905, 371.15118],
];

const f32 = Math.fround;
const CONFIDENCE = 0.99;
const OUTLIER_RATIO = 0.45;
const MAX_ITERS = 2000;
const MODEL_POINTS = 2;

/** OpenCV's cv::RNG (multiply-with-carry), seeded with all ones as LMeDS does. */
function openCvRng(): (n: number) => number {
  let state = 0xffffffffffffffffn;
  return (n) => {
    state = ((state & 0xffffffffn) * 4164903690n + (state >> 32n)) & 0xffffffffffffffffn;
    return Number(state & 0xffffffffn) % n;
  };
}

/** cv::RANSACUpdateNumIters. */
function iterations(points: number): number {
  const num = Math.log(Math.max(1 - CONFIDENCE, Number.MIN_VALUE));
  const denom = Math.log(1 - (1 - OUTLIER_RATIO) ** points);
  if (denom >= 0 || -num >= MAX_ITERS * -denom) return MAX_ITERS;
  return Math.round(num / denom);
}

/** The exact similarity through two point pairs (OpenCV's AffinePartial2D kernel). */
function twoPointModel(p1: Point, p2: Point, q1: Point, q2: Point): Affine {
  const [x1, y1] = p1;
  const [x2, y2] = p2;
  const [X1, Y1] = q1;
  const [X2, Y2] = q2;
  const d = 1 / ((x1 - x2) ** 2 + (y1 - y2) ** 2);
  const a = d * ((X1 - X2) * (x1 - x2) + (Y1 - Y2) * (y1 - y2));
  const b = d * ((Y1 - Y2) * (x1 - x2) - (X1 - X2) * (y1 - y2));
  const tx = d * ((Y1 - Y2) * (x1 * y2 - x2 * y1) - (X1 * y2 - X2 * y1) * (y1 - y2) - (X1 * x2 - X2 * x1) * (x1 - x2));
  const ty = d * (-(X1 - X2) * (x1 * y2 - x2 * y1) - (Y1 * x2 - Y2 * x1) * (x1 - x2) - (Y1 * y2 - Y2 * y1) * (y1 - y2));
  return [a, -b, tx, b, a, ty];
}

/** Squared transfer errors in float32, as OpenCV computes them. */
function errors(model: Affine, from: readonly Point[], to: readonly Point[]): Float32Array {
  const h = model.map(f32);
  const out = new Float32Array(from.length);
  from.forEach(([x, y], i) => {
    const dx = f32(f32(f32(f32(h[0]! * x) + f32(h[1]! * y)) + h[2]!) - to[i]![0]);
    const dy = f32(f32(f32(f32(h[3]! * x) + f32(h[4]! * y)) + h[5]!) - to[i]![1]);
    out[i] = f32(f32(dx * dx) + f32(dy * dy));
  });
  return out;
}

/** The least-squares similarity mapping `from` onto `to`. */
export function leastSquaresSimilarity(from: readonly Point[], to: readonly Point[]): Affine {
  const n = from.length;
  const mean = (ps: readonly Point[], k: 0 | 1) => ps.reduce((s, p) => s + p[k], 0) / n;
  const [px, py, qx, qy] = [mean(from, 0), mean(from, 1), mean(to, 0), mean(to, 1)];
  let norm = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    const [x, y] = [from[i]![0] - px, from[i]![1] - py];
    const [X, Y] = [to[i]![0] - qx, to[i]![1] - qy];
    norm += x * x + y * y;
    sa += x * X + y * Y;
    sb += x * Y - y * X;
  }
  const a = sa / norm;
  const b = sb / norm;
  return [a, -b, qx - (a * px - b * py), b, a, qy - (b * px + a * py)];
}

export interface SimilarityEstimate {
  matrix: Affine;
  /** Which points were kept as inliers. */
  inliers: boolean[];
}

/**
 * `estimateAffinePartial2D(from, to, method=LMEDS)`: undefined when it fails (fewer than two
 * inliers, or degenerate points), as OpenCV returns an empty matrix.
 */
export function estimateSimilarityLmeds(fromPoints: readonly Point[], toPoints: readonly Point[]): SimilarityEstimate | undefined {
  const count = fromPoints.length;
  if (count < MODEL_POINTS || toPoints.length !== count) return undefined;
  const from = fromPoints.map(([x, y]) => [f32(x), f32(y)] as const);
  const to = toPoints.map(([x, y]) => [f32(x), f32(y)] as const);
  let best: Affine | undefined;
  let minMedian = Number.MAX_VALUE;
  if (count === MODEL_POINTS) {
    best = twoPointModel(from[0]!, from[1]!, to[0]!, to[1]!);
    minMedian = 0;
  } else {
    const uniform = openCvRng();
    const niters = Math.max(iterations(MODEL_POINTS), 3);
    for (let iter = 0; iter < niters; iter++) {
      const i = uniform(count);
      let j = uniform(count);
      while (j === i) j = uniform(count);
      const model = twoPointModel(from[i]!, from[j]!, to[i]!, to[j]!);
      if (!model.every(Number.isFinite)) continue;
      const err = [...errors(model, from, to)].sort((a, b) => a - b);
      const median = err[Math.floor(count / 2)]!;
      if (median < minMedian) {
        minMedian = median;
        best = model;
      }
    }
  }
  if (!best) return undefined;
  const sigma = Math.max(2.5 * 1.4826 * (1 + 5 / (count - MODEL_POINTS)) * Math.sqrt(minMedian), 0.001);
  const threshold = f32(sigma * sigma);
  const err = errors(best, from, to);
  const inliers = [...err].map((e) => e <= threshold);
  const kept = inliers.flatMap((ok, k) => (ok ? [k] : []));
  if (kept.length < MODEL_POINTS) return undefined;
  const matrix = leastSquaresSimilarity(
    kept.map((k) => from[k]!),
    kept.map((k) => to[k]!),
  );
  return matrix.every(Number.isFinite) ? { matrix, inliers } : undefined;
}

/** The inverse of a 2x3 affine transform (cv2.invertAffineTransform). */
export function invertAffine(m: Affine): Affine {
  const d = 1 / (m[0] * m[4] - m[1] * m[3]);
  const a11 = m[4] * d;
  const a22 = m[0] * d;
  const a12 = -m[1] * d;
  const a21 = -m[3] * d;
  return [a11, a12, -a11 * m[2] - a12 * m[5], a21, a22, -a21 * m[2] - a22 * m[5]];
}
