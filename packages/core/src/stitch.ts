import { BackendError } from './errors.js';
import type { Image, Tensor } from './image.js';
import { maxValue } from './image.js';
import { clamp01, quantize, rgbToGray } from './quantize.js';
import type { TilePlan } from './tiling.js';

/**
 * What a tile's RGB model output becomes in the integer output image:
 * `rgb` -> channels 0..2; `gray` -> channel 0 as RGB2GRAY of the clamped output (gray inputs);
 * `alpha` -> the last channel as RGB2GRAY of the clamped output (alpha through the model).
 */
export type StitchTarget = 'rgb' | 'gray' | 'alpha';

/** Part of a stitch: `out` may be a band of the output, and a large tile may be stitched in row ranges. */
export interface StitchRows {
  /** Output row that `out`'s first row is (a band of rows); default 0. */
  originY?: number;
  /** Rows of the tile's output area to write, `from` inclusive, `to` exclusive; default all. */
  from?: number;
  to?: number;
}

/** Rows of `plan.output` that land inside `out` (pre-pad and alignment rows fall outside it). */
export function stitchHeight(out: Image, plan: TilePlan, originY = 0): number {
  return Math.max(0, Math.min(plan.output.height, out.height + originY - plan.output.y));
}

/**
 * Writes the cropped part of one tile's [1, 3, h, w] model output into `out` at `plan.output`,
 * clamping and quantising on the way. Pixels beyond `out` (the pre-pad and alignment pad region)
 * are skipped, so no padded-size or float-size output buffer ever exists.
 */
export function stitchTile(out: Image, tile: Tensor, plan: TilePlan, target: StitchTarget, rows: StitchRows = {}): void {
  const tileH = tile.dims[2] ?? 0;
  const tileW = tile.dims[3] ?? 0;
  const originY = rows.originY ?? 0;
  const dx = plan.output.x;
  const dy = plan.output.y - originY;
  const w = Math.min(plan.output.width, out.width - dx);
  const h = Math.min(stitchHeight(out, plan, originY), rows.to ?? Infinity);
  if (w <= 0 || h <= 0) return;
  if (plan.crop.x + plan.output.width > tileW || plan.crop.y + plan.output.height > tileH) {
    throw new BackendError(`Tile output ${tileW}x${tileH} is too small for its crop`);
  }
  const plane = tileW * tileH;
  const src = tile.data;
  const dst = out.data;
  const stride = out.channels;
  const max = maxValue(out.bitDepth);
  const channel = target === 'alpha' ? stride - 1 : 0;
  for (let y = rows.from ?? 0; y < h; y++) {
    let s = (plan.crop.y + y) * tileW + plan.crop.x;
    let d = ((dy + y) * out.width + dx) * stride + channel;
    if (target === 'rgb') {
      for (let x = 0; x < w; x++, s++, d += stride) {
        dst[d] = quantize(src[s]!, max);
        dst[d + 1] = quantize(src[plane + s]!, max);
        dst[d + 2] = quantize(src[2 * plane + s]!, max);
      }
    } else {
      for (let x = 0; x < w; x++, s++, d += stride) {
        const r = clamp01(src[s]!);
        const g = clamp01(src[plane + s]!);
        const b = clamp01(src[2 * plane + s]!);
        dst[d] = quantize(rgbToGray(r, g, b), max);
      }
    }
  }
}
