import sharp, { type Metadata } from 'sharp';
import { BadImageError, ImageTooLargeError, type Image } from '@superres/core';

export interface DecodeOptions {
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels?: number;
}

export const DEFAULT_MAX_INPUT_PIXELS = 64 * 1024 * 1024;

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
  // libvips' conversion to b-w drops alpha: gray with alpha is read as RGBA (gray replicated,
  // exactly) and its first and last bands kept.
  const grayAlpha = gray && meta.hasAlpha === true;
  const space = gray && !grayAlpha ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels })
      .pipelineColourspace(space)
      .autoOrient()
      .toColourspace(space)
      .raw({ depth: sixteen ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    let samples: Uint8Array | Uint16Array;
    if (sixteen) {
      // Copy into an aligned buffer: sharp's Buffer may start at an odd byte offset.
      samples = new Uint16Array(data.length / 2);
      new Uint8Array(samples.buffer).set(data);
    } else {
      // sharp's own buffer when it is one (no copy of a large image); a slice of Node's shared pool is copied.
      const whole = data.byteOffset === 0 && data.length === data.buffer.byteLength;
      samples = whole ? new Uint8Array(data.buffer) : new Uint8Array(data);
    }
    const channels = info.channels as Image['channels'];
    const image = { width: info.width, height: info.height, bitDepth: sixteen ? 16 : 8 } as const;
    if (grayAlpha && channels === 4) return { ...image, channels: 2, data: grayAndAlpha(samples) };
    return { ...image, channels, data: samples };
  } catch (cause) {
    throw new BadImageError(`Cannot decode image: ${(cause as Error).message}`, { cause });
  }
}

/** Bands 0 and 3 of RGBA samples: gray and alpha. */
function grayAndAlpha(rgba: Uint8Array | Uint16Array): Uint8Array | Uint16Array {
  const pixels = rgba.length / 4;
  const out = rgba instanceof Uint16Array ? new Uint16Array(pixels * 2) : new Uint8Array(pixels * 2);
  for (let i = 0; i < pixels; i++) {
    out[2 * i] = rgba[4 * i]!;
    out[2 * i + 1] = rgba[4 * i + 3]!;
  }
  return out;
}
