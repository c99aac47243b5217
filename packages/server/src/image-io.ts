import sharp, { type Metadata } from 'sharp';
import { BadImageError, ImageTooLargeError, InvalidOptionError, type Image } from '@superres/core';

// Two cores on our reference machines; libvips would otherwise start a thread per core per call.
sharp.concurrency(2);

export type OutputFormat = 'png' | 'jpeg' | 'webp';

export interface DecodeOptions {
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels?: number;
}

export const DEFAULT_MAX_INPUT_PIXELS = 64 * 1024 * 1024;
const WEBP_MAX_SIDE = 16383;

/**
 * Decodes encoded bytes into an Image: EXIF orientation applied, colour converted to sRGB, gray
 * kept gray, alpha kept, 16-bit kept 16-bit.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<Image> {
  const limitInputPixels = options.maxPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new BadImageError(`Cannot decode image: ${(cause as Error).message}`, { cause });
  }
  const { width, height } = meta;
  if (!width || !height) throw new BadImageError('Cannot decode image: no dimensions');
  if (width * height > limitInputPixels) {
    throw new ImageTooLargeError(
      `Image is ${width}x${height} (${width * height} pixels); the limit is ${limitInputPixels} pixels`,
    );
  }
  const gray = meta.space === 'b-w' || meta.space === 'grey16';
  const sixteen = meta.depth === 'ushort';
  const space = gray ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels })
      .pipelineColourspace(space)
      .autoOrient()
      .toColourspace(space)
      .raw({ depth: sixteen ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const channels = info.channels as Image['channels'];
    if (sixteen) {
      // Copy into an aligned buffer: sharp's Buffer may start at an odd byte offset.
      const samples = new Uint16Array(data.length / 2);
      new Uint8Array(samples.buffer).set(data);
      return { width: info.width, height: info.height, channels, bitDepth: 16, data: samples };
    }
    return { width: info.width, height: info.height, channels, bitDepth: 8, data: new Uint8Array(data) };
  } catch (cause) {
    throw new BadImageError(`Cannot decode image: ${(cause as Error).message}`, { cause });
  }
}

/** Picks the output format from a file name's extension. */
export function formatFromPath(path: string): OutputFormat {
  const ext = path.toLowerCase().split('.').pop() ?? '';
  if (ext === 'png') return 'png';
  if (ext === 'jpg' || ext === 'jpeg') return 'jpeg';
  if (ext === 'webp') return 'webp';
  throw new InvalidOptionError(
    `Output file must end in .png, .jpg, .jpeg or .webp; got "${path}"`,
    { details: { option: 'output' } },
  );
}

export interface EncodeOptions {
  format: OutputFormat;
  /** JPEG and WebP quality, 1..100. */
  quality?: number;
}

/** Encodes an Image. PNG keeps 16 bits and gray; JPEG has no alpha, so it is flattened onto white. */
export async function encodeImage(image: Image, options: EncodeOptions): Promise<Buffer> {
  const { format, quality = 95 } = options;
  if (format === 'webp' && (image.width > WEBP_MAX_SIDE || image.height > WEBP_MAX_SIDE)) {
    throw new ImageTooLargeError(
      `WebP cannot hold ${image.width}x${image.height}: at most ${WEBP_MAX_SIDE} pixels a side. Use PNG or JPEG.`,
    );
  }
  const gray = image.channels <= 2;
  const sixteen = image.bitDepth === 16 && format === 'png';
  let pipeline = sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
    limitInputPixels: false,
  });
  pipeline = pipeline.toColourspace(gray ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb');
  switch (format) {
    case 'png':
      return pipeline.png({ compressionLevel: 6 }).toBuffer();
    case 'jpeg':
      return pipeline.flatten({ background: '#ffffff' }).jpeg({ quality, mozjpeg: false }).toBuffer();
    case 'webp':
      return pipeline.webp({ quality }).toBuffer();
  }
}
