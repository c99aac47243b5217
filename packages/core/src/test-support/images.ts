import type { BitDepth, Channels, Image } from '../image.js';
import { createImage, maxValue } from '../image.js';

/** A deterministic pseudo-random image (LCG), spanning the full range of its bit depth. */
export function randomImage(width: number, height: number, channels: Channels, bitDepth: BitDepth = 8, seed = 1): Image {
  const image = createImage(width, height, channels, bitDepth);
  const max = maxValue(bitDepth);
  let state = seed >>> 0;
  for (let i = 0; i < image.data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    image.data[i] = Math.floor((state / 2 ** 32) * (max + 1));
  }
  return image;
}
