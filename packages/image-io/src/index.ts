// Image decode and encode in Node, on sharp (libvips). Browsers decode with their own codecs.
import sharp from 'sharp';

export { decodeImage, DEFAULT_MAX_INPUT_PIXELS, type DecodeOptions } from './decode.js';
export { encodeImage, encodeImageToFile, type EncodeOptions } from './encode.js';
export { formatFromPath, type OutputFormat } from './format.js';

/**
 * How many threads libvips uses per image operation (sharp's default: one per core). A host that
 * runs several images at once, or inference beside them, may want fewer. Process-wide.
 */
export function setImageIoConcurrency(threads: number): void {
  sharp.concurrency(threads);
}
