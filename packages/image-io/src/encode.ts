import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { ImageTooLargeError, type Image } from '@superres/core';
import type { OutputFormat } from './format.js';
import { exifWithOrientationReset, iccColourSpace, withExif, type ImageMetadata } from './metadata.js';

const WEBP_MAX_SIDE = 16383;

export interface EncodeOptions {
  format: OutputFormat;
  /** JPEG, WebP and AVIF quality, 1..100. */
  quality?: number;
  /** PNG zlib level 0..9 (default 2, with adaptive row filters; see below). */
  compressionLevel?: number;
  /** The input's metadata to carry into the output (readImageMetadata); absent: none is written. */
  metadata?: ImageMetadata;
}

/** What of the metadata made it into the output (AVIF takes no EXIF here; a gray image no RGB profile). */
export interface EncodeReport {
  exif: boolean;
  icc: boolean;
  xmp: boolean;
}

/**
 * PNG: zlib level 2 with adaptive row filtering. Measured on a 1792x2560 upscale (BENCHMARKS.md):
 * 9.36 MB in 0.60 s, against 11.93 MB in 0.49 s for sharp's default (level 6, no filters) and
 * 9.12 MB in 1.09 s for Pillow's default. Upscaled images are smooth: the filters do most of the
 * work, a higher zlib level buys almost nothing (level 9: 9.07 MB in 2.1 s).
 */
export const DEFAULT_PNG_COMPRESSION = 2;

/** Encodes an Image. PNG keeps 16 bits and gray; JPEG has no alpha, so it is flattened onto white. */
export async function encodeImage(image: Image, options: EncodeOptions): Promise<Buffer> {
  return (await encodeWithMetadata(image, options)).bytes;
}

/**
 * Encodes an Image straight into a file: the encoder streams to disk, so the encoded bytes are
 * never held in memory (a PNG of an 8000x6000 upscale is about 85 MB).
 */
export async function encodeImageToFile(image: Image, path: string, options: EncodeOptions): Promise<EncodeReport> {
  if (!options.metadata) {
    await (await encoder(image, options)).pipeline.toFile(path);
    return { exif: false, icc: false, xmp: false };
  }
  // EXIF is inserted into the encoded bytes, so with metadata the file is written whole.
  const { bytes, report } = await encodeWithMetadata(image, options);
  await writeFile(path, bytes);
  return report;
}

async function encodeWithMetadata(image: Image, options: EncodeOptions): Promise<{ bytes: Buffer; report: EncodeReport }> {
  const { pipeline, cleanup, icc, xmp } = await encoder(image, options);
  try {
    let bytes: Buffer = await pipeline.toBuffer();
    const tiff = options.metadata?.exif;
    const withTags = tiff ? withExif(bytes, options.format, exifWithOrientationReset(tiff), image.width, image.height) : undefined;
    if (withTags) bytes = Buffer.from(withTags.buffer, withTags.byteOffset, withTags.byteLength);
    return { bytes, report: { exif: withTags !== undefined, icc, xmp } };
  } finally {
    await cleanup();
  }
}

async function encoder(image: Image, options: EncodeOptions): Promise<{ pipeline: Sharp; cleanup(): Promise<void>; icc: boolean; xmp: boolean }> {
  const pipeline = formatted(image, options);
  const { metadata } = options;
  let cleanup = async () => undefined as void;
  // sharp takes a profile by path: the input's goes through a temporary file. The pixels are sRGB
  // (decoding converted them); withIccProfile converts them back and embeds the profile.
  const icc = metadata?.icc !== undefined && image.channels >= 3 && iccColourSpace(metadata.icc) === 'RGB';
  if (icc) {
    const path = join(tmpdir(), `superres-icc-${randomBytes(8).toString('hex')}.icc`);
    await writeFile(path, metadata!.icc!);
    pipeline.withIccProfile(path);
    cleanup = () => rm(path, { force: true });
  }
  const xmp = metadata?.xmp !== undefined;
  if (xmp) pipeline.withXmp(metadata!.xmp!);
  return { pipeline, cleanup, icc, xmp };
}

function formatted(image: Image, options: EncodeOptions): Sharp {
  const { format, quality = 95, compressionLevel = DEFAULT_PNG_COMPRESSION } = options;
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
      return pipeline.png({ compressionLevel, adaptiveFiltering: true });
    case 'jpeg':
      return pipeline.flatten({ background: '#ffffff' }).jpeg({ quality, mozjpeg: false });
    case 'webp':
      return pipeline.webp({ quality });
    case 'avif':
      // AVIF holds 8 bits here (sharp's 10/12-bit AVIF needs a libheif build with them).
      return pipeline.avif({ quality });
  }
}
