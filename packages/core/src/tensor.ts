import { BadImageError } from './errors.js';
import type { BitDepth, Channels, Image, Tensor } from './image.js';
import { createImage, maxValue, validateImage } from './image.js';
import { quantize } from './quantize.js';
import type { Rect } from './tiling.js';

/** Which image channels feed the model's R, G and B planes. */
export type ChannelMap = readonly [number, number, number];

/** The colour planes of an image: gray is replicated to RGB, alpha left out. */
export function colorChannels(channels: Channels): ChannelMap {
  return channels <= 2 ? [0, 0, 0] : [0, 1, 2];
}

/** The alpha channel replicated to RGB, as the reference feeds alpha through the model. */
export function alphaChannels(channels: Channels): ChannelMap {
  if (channels === 2) return [1, 1, 1];
  if (channels === 4) return [3, 3, 3];
  throw new BadImageError(`A ${channels}-channel image has no alpha channel`);
}

/**
 * Reads `rect` (in padded coordinates) of `image` into a [1, 3, h, w] float tensor in [0, 1].
 * `mapX`/`mapY` send padded coordinates to source coordinates, so padding costs no pixel copy.
 * Samples are divided by the maximum (not multiplied by its inverse) to match `img / max_range`.
 */
export function extractTile(
  image: Image,
  rect: Rect,
  mapX: Int32Array,
  mapY: Int32Array,
  channels: ChannelMap,
): Tensor {
  const tensor = allocateTile(rect, mapX, mapY);
  extractTileRows(image, rect, mapX, mapY, channels, tensor.data, 0, rect.height);
  return tensor;
}

/** An empty [1, 3, h, w] tensor for `rect`, checked to lie inside the padded image. */
export function allocateTile(rect: Rect, mapX: Int32Array, mapY: Int32Array): Tensor {
  const { width: w, height: h } = rect;
  if (rect.x < 0 || rect.y < 0 || rect.x + w > mapX.length || rect.y + h > mapY.length) {
    throw new BadImageError(`Tile ${w}x${h}+${rect.x}+${rect.y} lies outside the ${mapX.length}x${mapY.length} padded image`);
  }
  return { data: new Float32Array(3 * w * h), dims: [1, 3, h, w] };
}

/** extractTile for rows `from` .. `to - 1` of the tile, into `data` (a tile-sized tensor's data). */
export function extractTileRows(
  image: Image,
  rect: Rect,
  mapX: Int32Array,
  mapY: Int32Array,
  channels: ChannelMap,
  data: Float32Array,
  from: number,
  to: number,
): void {
  const { width: w, height: h } = rect;
  const plane = w * h;
  const src = image.data;
  const stride = image.channels;
  const max = maxValue(image.bitDepth);
  const [c0, c1, c2] = channels;
  for (let y = from; y < to; y++) {
    const rowBase = mapY[rect.y + y]! * image.width;
    let o = y * w;
    for (let x = 0; x < w; x++, o++) {
      const s = (rowBase + mapX[rect.x + x]!) * stride;
      data[o] = src[s + c0]! / max;
      data[plane + o] = src[s + c1]! / max;
      data[2 * plane + o] = src[s + c2]! / max;
    }
  }
}

/** An image (or a rectangle of it) as a [1, 3, h, w] RGB tensor in [0, 1]; gray replicated, alpha dropped. */
export function imageToTensor(image: Image, rect?: Rect): Tensor {
  validateImage(image);
  const r = rect ?? { x: 0, y: 0, width: image.width, height: image.height };
  if (!Number.isInteger(r.x) || !Number.isInteger(r.y) || !Number.isInteger(r.width) || !Number.isInteger(r.height)) {
    throw new BadImageError(`Rectangle must have integer fields, got ${JSON.stringify(r)}`);
  }
  if (r.width < 1 || r.height < 1 || r.x < 0 || r.y < 0 || r.x + r.width > image.width || r.y + r.height > image.height) {
    throw new BadImageError(`Rectangle ${r.width}x${r.height}+${r.x}+${r.y} is not inside the ${image.width}x${image.height} image`);
  }
  return extractTile(image, r, identity(r.x + r.width), identity(r.y + r.height), colorChannels(image.channels));
}

/**
 * A [1, C, H, W] tensor (C = 1..4: gray, gray+alpha, RGB, RGBA) to an interleaved image:
 * values clamped to [0, 1] and rounded half to even, like the reference's output step.
 */
export function tensorToImage(tensor: Tensor, bitDepth: BitDepth = 8): Image {
  const [n, c, h, w] = tensor.dims;
  if (tensor.dims.length !== 4 || n !== 1 || c === undefined || c < 1 || c > 4 || !h || !w) {
    throw new BadImageError(`Expected a [1, C<=4, H, W] tensor, got [${tensor.dims.join(', ')}]`);
  }
  if (tensor.data.length !== c * h * w) {
    throw new BadImageError(`Tensor [${tensor.dims.join(', ')}] has ${tensor.data.length} values, needs ${c * h * w}`);
  }
  const image = createImage(w, h, c as Channels, bitDepth);
  const out = image.data;
  const src = tensor.data;
  const max = maxValue(bitDepth);
  const plane = w * h;
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0, o = ch; i < plane; i++, o += c) out[o] = quantize(src[ch * plane + i]!, max);
  }
  return image;
}

function identity(length: number): Int32Array {
  const map = new Int32Array(length);
  for (let i = 0; i < map.length; i++) map[i] = i;
  return map;
}
