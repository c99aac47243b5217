import { BadImageError, ImageTooLargeError } from './errors.js';

export type Channels = 1 | 2 | 3 | 4;
export type BitDepth = 8 | 16;

/**
 * Interleaved pixels, rows top to bottom. 1 = gray, 2 = gray + alpha, 3 = RGB, 4 = RGBA.
 * 8-bit data is a Uint8Array, 16-bit data a Uint16Array; length = width * height * channels.
 */
export interface Image {
  readonly width: number;
  readonly height: number;
  readonly channels: Channels;
  readonly bitDepth: BitDepth;
  readonly data: Uint8Array | Uint16Array;
}

/** An NCHW float32 tensor. */
export interface Tensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export function maxValue(bitDepth: BitDepth): number {
  return bitDepth === 16 ? 65535 : 255;
}

export function hasAlpha(channels: Channels): boolean {
  return channels === 2 || channels === 4;
}

/** The largest pixel buffer superres allocates in one piece (2 GiB). */
export const MAX_IMAGE_BYTES = 2 ** 31;

export function imageBytes(width: number, height: number, channels: Channels, bitDepth: BitDepth): number {
  return width * height * channels * (bitDepth / 8);
}

/** Allocates a zeroed image; ImageTooLargeError (not a RangeError) when it cannot exist. */
export function createImage(width: number, height: number, channels: Channels, bitDepth: BitDepth): Image {
  assertGeometry(width, height, channels, bitDepth);
  const length = width * height * channels;
  const bytes = imageBytes(width, height, channels, bitDepth);
  if (bytes > MAX_IMAGE_BYTES) {
    throw new ImageTooLargeError(
      `A ${width}x${height} image with ${channels} ${bitDepth}-bit channels needs ${bytes} bytes; the limit is ${MAX_IMAGE_BYTES}`,
      { details: { width, height, channels, bitDepth } },
    );
  }
  try {
    const data = bitDepth === 16 ? new Uint16Array(length) : new Uint8Array(length);
    return { width, height, channels, bitDepth, data };
  } catch (cause) {
    throw new ImageTooLargeError(`Cannot allocate a ${width}x${height} image: ${(cause as Error).message}`, { cause });
  }
}

/** Checks that an image's fields are coherent; throws BadImageError naming what is wrong. */
export function validateImage(image: Image): void {
  assertGeometry(image.width, image.height, image.channels, image.bitDepth);
  const expected = image.width * image.height * image.channels;
  if (image.bitDepth === 8 && !(image.data instanceof Uint8Array)) {
    throw new BadImageError('An 8-bit image needs Uint8Array data');
  }
  if (image.bitDepth === 16 && !(image.data instanceof Uint16Array)) {
    throw new BadImageError('A 16-bit image needs Uint16Array data');
  }
  if (image.data.length !== expected) {
    throw new BadImageError(
      `Image data has ${image.data.length} samples; ${image.width}x${image.height}x${image.channels} needs ${expected}`,
    );
  }
}

function assertGeometry(width: number, height: number, channels: number, bitDepth: number): void {
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new BadImageError(`Image size must be positive integers, got ${width}x${height}`);
  }
  if (![1, 2, 3, 4].includes(channels)) {
    throw new BadImageError(`Image channels must be 1, 2, 3 or 4, got ${channels}`);
  }
  if (bitDepth !== 8 && bitDepth !== 16) {
    throw new BadImageError(`Image bit depth must be 8 or 16, got ${bitDepth}`);
  }
}
