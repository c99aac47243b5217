// Shared by the PyTorch comparison tests: decode a PNG to 8-bit RGB and compare two images.
import sharp from 'sharp';
import { expect } from 'vitest';
import type { Image } from '@superres/core';

sharp.concurrency(2);

export async function readRgb(path: string): Promise<Image> {
  const { data, info } = await sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, bitDepth: 8, data: new Uint8Array(data) };
}

/** Largest absolute sample difference and how many samples differ; sizes must match. */
export function maxAbsDiff(a: Image, b: Image): { max: number; differing: number } {
  expect([a.width, a.height, a.channels]).toEqual([b.width, b.height, b.channels]);
  let max = 0;
  let differing = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (d > 0) differing++;
    if (d > max) max = d;
  }
  return { max, differing };
}
