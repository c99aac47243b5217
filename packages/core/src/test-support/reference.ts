import type { Image, Tensor } from '../image.js';
import { createImage, maxValue } from '../image.js';
import type { LoadedModel } from '../model.js';

/**
 * A deliberately naive transcription of RealESRGANer.enhance (whole image, no tiling) for tests:
 * materialises the padded float image with numpy-style iterative reflect padding, runs the model
 * once, crops, clamps, converts and rounds. Independent of the streaming pipeline's code.
 */
export async function referenceEnhance(
  image: Image,
  model: LoadedModel,
  { prePad = 0, alpha = 'model' }: { prePad?: number; alpha?: 'model' | 'resize' } = {},
): Promise<Image> {
  const max = maxValue(image.bitDepth);
  const { width: w, height: h, channels: ch } = image;
  const plane = (c: number): number[][] =>
    Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => Math.fround(image.data[(y * w + x) * ch + c]! / max)));
  const gray = ch <= 2;
  const rgb = gray ? [plane(0), plane(0), plane(0)] : [plane(0), plane(1), plane(2)];
  const out = createImage(w * model.scale, h * model.scale, ch, image.bitDepth);
  const result = await runWhole(rgb, model, prePad);
  const s = model.scale;
  for (let y = 0; y < h * s; y++) {
    for (let x = 0; x < w * s; x++) {
      const [r, g, b] = result.map((p) => clamp(p[y]![x]!));
      const o = (y * w * s + x) * ch;
      if (gray) out.data[o] = roundEven(Math.fround(Math.fround(0.299 * r! + 0.587 * g! + 0.114 * b!) * max));
      else for (let c = 0; c < 3; c++) out.data[o + c] = roundEven(Math.fround([r!, g!, b!][c]! * max));
    }
  }
  if (ch === 2 || ch === 4) {
    const a = plane(ch - 1);
    if (alpha === 'model') {
      const res = await runWhole([a, a, a], model, prePad);
      for (let y = 0; y < h * s; y++) {
        for (let x = 0; x < w * s; x++) {
          const [r, g, b] = res.map((p) => clamp(p[y]![x]!));
          out.data[(y * w * s + x) * ch + ch - 1] = roundEven(Math.fround(Math.fround(0.299 * r! + 0.587 * g! + 0.114 * b!) * max));
        }
      }
    }
  }
  return out;
}

async function runWhole(planes: number[][][], model: LoadedModel, prePad: number): Promise<number[][][]> {
  const h0 = planes[0]!.length;
  const w0 = planes[0]![0]!.length;
  let padded = planes.map((p) => padRightBottom(p, prePad, prePad));
  const hp = h0 + prePad;
  const wp = w0 + prePad;
  const a = model.alignment;
  padded = padded.map((p) => padRightBottom(p, (a - (wp % a)) % a, (a - (hp % a)) % a));
  const H = padded[0]!.length;
  const W = padded[0]![0]!.length;
  const data = new Float32Array(3 * H * W);
  padded.forEach((p, c) => p.forEach((row, y) => row.forEach((v, x) => (data[c * H * W + y * W + x] = v))));
  const output: Tensor = await model.run({ data, dims: [1, 3, H, W] });
  const s = model.scale;
  return [0, 1, 2].map((c) =>
    Array.from({ length: h0 * s }, (_, y) =>
      Array.from({ length: w0 * s }, (_, x) => output.data[c * H * s * W * s + y * W * s + x]!),
    ),
  );
}

/** numpy's reflect pad done the old iterative way: reflect the current array, again and again. */
export function numpyReflectPad(values: readonly number[], pad: number): number[] {
  const a = [...values];
  let left = pad;
  while (left > 0) {
    if (a.length === 1) {
      a.push(a[0]!);
      left--;
      continue;
    }
    const k = Math.min(left, a.length - 1);
    const n = a.length;
    for (let j = 0; j < k; j++) a.push(a[n - 2 - j]!);
    left -= k;
  }
  return a;
}

function padRightBottom(p: number[][], padW: number, padH: number): number[][] {
  const rows = p.map((row) => numpyReflectPad(row, padW));
  const columns = rows[0]!.map((_, x) => numpyReflectPad(rows.map((r) => r[x]!), padH));
  return columns[0]!.map((_, y) => columns.map((col) => col[y]!));
}

const clamp = (v: number): number => Math.min(1, Math.max(0, v));

function roundEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
