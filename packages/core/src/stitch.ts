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

/**
 * Writes the cropped part of one tile's [1, 3, h, w] model output into `out` at `plan.output`,
 * clamping and quantising on the way. Pixels beyond `out` (the pre-pad and alignment pad region)
 * are skipped, so no padded-size or float-size output buffer ever exists.
 */
export function stitchTile(out: Image, tile: Tensor, plan: TilePlan, target: StitchTarget): void {
  const tileH = tile.dims[2] ?? 0;
  const tileW = tile.dims[3] ?? 0;
  const { x: dx, y: dy } = plan.output;
  const w = Math.min(plan.output.width, out.width - dx);
  const h = Math.min(plan.output.height, out.height - dy);
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
  for (let y = 0; y < h; y++) {
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
