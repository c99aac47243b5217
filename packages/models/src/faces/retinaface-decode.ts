/**
 * RetinaFace's outputs to faces, as facexlib's `detect_faces` does it (facts and lines in
 * docs/research/face-enhance-upstream.md section 4.5): prior boxes per level, row and column
 * (two sizes each), box and landmark decoding with variances (0.1, 0.2), a strict score threshold,
 * and torchvision's NMS (highest score first; IoU > threshold suppresses; areas without +1).
 * Arithmetic in float32 where PyTorch does it in float32.
 */

export interface DetectedFace {
  /** x1, y1, x2, y2 in input pixels. */
  readonly box: readonly [number, number, number, number];
  readonly score: number;
  /** Five points (eyes, nose, mouth corners, image-left first) as [x, y] pairs, in input pixels. */
  readonly landmarks: readonly (readonly [number, number])[];
}

export interface DecodeOptions {
  /** Faces need a score above this (strictly). FaceRestoreHelper uses 0.97. */
  scoreThreshold?: number;
  /** A box overlapping a kept one by more than this IoU is dropped. 0.4 in facexlib. */
  nmsThreshold?: number;
}

const MIN_SIZES = [
  [16, 32],
  [64, 128],
  [256, 512],
] as const;
const STEPS = [8, 16, 32] as const;
const VARIANCE = [0.1, 0.2] as const;
const f32 = Math.fround;

/** The priors as [cx, cy, w, h] (fractions of the image), in the network's output order. */
export function retinaFacePriors(height: number, width: number): Float32Array {
  let count = 0;
  for (const step of STEPS) count += 2 * Math.ceil(height / step) * Math.ceil(width / step);
  const out = new Float32Array(count * 4);
  let k = 0;
  STEPS.forEach((step, level) => {
    const rows = Math.ceil(height / step);
    const cols = Math.ceil(width / step);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        for (const size of MIN_SIZES[level]!) {
          out[k++] = ((j + 0.5) * step) / width;
          out[k++] = ((i + 0.5) * step) / height;
          out[k++] = size / width;
          out[k++] = size / height;
        }
      }
    }
  });
  return out;
}

/** Decodes the three outputs of one image of `width` x `height`. */
export function decodeRetinaFace(
  outputs: { loc: Float32Array; conf: Float32Array; landms: Float32Array },
  width: number,
  height: number,
  options: DecodeOptions = {},
): DetectedFace[] {
  const threshold = options.scoreThreshold ?? 0.97;
  const priors = retinaFacePriors(height, width);
  const n = priors.length / 4;
  if (outputs.loc.length !== n * 4 || outputs.conf.length !== n * 2 || outputs.landms.length !== n * 10) {
    throw new Error(`RetinaFace outputs do not match ${n} priors for a ${width}x${height} input`);
  }
  const candidates: DetectedFace[] = [];
  for (let p = 0; p < n; p++) {
    const score = outputs.conf[2 * p + 1]!;
    if (!(score > threshold)) continue;
    const [cx, cy, pw, ph] = [priors[4 * p]!, priors[4 * p + 1]!, priors[4 * p + 2]!, priors[4 * p + 3]!];
    const l = outputs.loc.subarray(4 * p, 4 * p + 4);
    const bx = f32(cx + f32(f32(l[0]! * VARIANCE[0]) * pw));
    const by = f32(cy + f32(f32(l[1]! * VARIANCE[0]) * ph));
    const bw = f32(pw * f32(Math.exp(f32(l[2]! * VARIANCE[1]))));
    const bh = f32(ph * f32(Math.exp(f32(l[3]! * VARIANCE[1]))));
    const x1 = f32(bx - f32(bw / 2));
    const y1 = f32(by - f32(bh / 2));
    const box = [f32(x1 * width), f32(y1 * height), f32(f32(bw + x1) * width), f32(f32(bh + y1) * height)] as const;
    const landmarks: [number, number][] = [];
    for (let k = 0; k < 5; k++) {
      const lx = f32(cx + f32(f32(outputs.landms[10 * p + 2 * k]! * VARIANCE[0]) * pw));
      const ly = f32(cy + f32(f32(outputs.landms[10 * p + 2 * k + 1]! * VARIANCE[0]) * ph));
      landmarks.push([f32(lx * width), f32(ly * height)]);
    }
    candidates.push({ box, score, landmarks });
  }
  return nms(candidates, options.nmsThreshold ?? 0.4);
}

/** torchvision.ops.nms: by score, highest first (ties keep their order); IoU > threshold suppresses. */
export function nms(faces: DetectedFace[], threshold: number): DetectedFace[] {
  const order = faces.map((_, i) => i).sort((a, b) => faces[b]!.score - faces[a]!.score || a - b);
  const area = (f: DetectedFace) => (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]);
  const suppressed = new Uint8Array(faces.length);
  const keep: DetectedFace[] = [];
  for (let a = 0; a < order.length; a++) {
    if (suppressed[a]) continue;
    const fa = faces[order[a]!]!;
    keep.push(fa);
    for (let b = a + 1; b < order.length; b++) {
      if (suppressed[b]) continue;
      const fb = faces[order[b]!]!;
      const w = Math.max(0, Math.min(fa.box[2], fb.box[2]) - Math.max(fa.box[0], fb.box[0]));
      const h = Math.max(0, Math.min(fa.box[3], fb.box[3]) - Math.max(fa.box[1], fb.box[1]));
      const inter = w * h;
      if (inter / (area(fa) + area(fb) - inter) > threshold) suppressed[b] = 1;
    }
  }
  return keep;
}
