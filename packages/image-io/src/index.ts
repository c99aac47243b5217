// Image decode and encode in Node, on sharp (libvips). Browsers decode with their own codecs.
import sharp from 'sharp';

export { decodeImage, DEFAULT_MAX_INPUT_PIXELS, type DecodeOptions } from './decode.js';
export { encodeImage, encodeImageToFile, DEFAULT_PNG_COMPRESSION, type EncodeOptions } from './encode.js';
export { formatFromPath, type OutputFormat } from './format.js';
export { readImageMetadata, exifWithOrientationReset, type ImageMetadata } from './metadata.js';
export type { EncodeReport } from './encode.js';
export { composeRow, type Panel } from './compose.js';

export interface ImageIoSettings {
  /** libvips threads per image operation (sharp's default: one per core). */
  threads?: number;
  /**
   * libvips' operation cache (sharp's default: on, up to 50 MB). It pays off when the same input
   * is processed again; a host that decodes and encodes each image once saves the memory.
   */
  cache?: boolean;
}

/** Process-wide libvips settings; importing the package changes nothing. */
export function configureImageIo(settings: ImageIoSettings): void {
  if (settings.threads !== undefined) sharp.concurrency(settings.threads);
  if (settings.cache !== undefined) sharp.cache(settings.cache);
}
export { codecReport, type CodecReport } from './codecs.js';
