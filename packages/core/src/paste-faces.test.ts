import { describe, expect, it } from 'vitest';
import { createImage, type Channels, type BitDepth, type Image } from './image.js';
import { pasteFaces, pasteBackMatrix, type RestoredFace } from './paste-faces.js';
import type { Affine } from './similarity-transform.js';

const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

/** A 512x512 face of one colour, fully opaque in its centre (mask 1 inside a 100-pixel frame). */
function flatFace(rgb: [number, number, number]): RestoredFace {
  const face = createImage(512, 512, 3, 8);
  for (let p = 0; p < 512 * 512; p++) face.data.set(rgb, p * 3);
  const mask = new Float64Array(512 * 512);
  for (let y = 100; y < 412; y++) for (let x = 100; x < 412; x++) mask[y * 512 + x] = 1;
  return { face, affine: IDENTITY, mask };
}

function background(channels: Channels, bitDepth: BitDepth, value: number): Image {
  const image = createImage(512, 512, channels, bitDepth);
  image.data.fill(value);
  return image;
}

const at = (image: Image, x: number, y: number) => [...image.data.subarray((y * image.width + x) * image.channels, (y * image.width + x + 1) * image.channels)];

describe('pasteFaces', () => {
  it('pastes into RGBA 8-bit, keeping alpha and the background outside the mask', () => {
    const out = pasteFaces(background(4, 8, 77), [flatFace([200, 100, 50])], 1);
    expect(at(out, 256, 256)).toEqual([200, 100, 50, 77]);
    expect(at(out, 20, 20)).toEqual([77, 77, 77, 77]);
  });

  it('keeps a gray background gray: the face by its BT.601 luma', () => {
    const out = pasteFaces(background(1, 8, 30), [flatFace([200, 100, 50])], 1);
    expect(out.channels).toBe(1);
    expect(at(out, 256, 256)).toEqual([124]); // 0.299 * 200 + 0.587 * 100 + 0.114 * 50 = 124.2
    expect(at(out, 20, 20)).toEqual([30]);
    const withAlpha = pasteFaces(background(2, 8, 30), [flatFace([200, 100, 50])], 1);
    expect(at(withAlpha, 256, 256)).toEqual([124, 30]);
  });

  it('scales faces to a 16-bit background (upstream pastes 0-255 faces into 0-65535)', () => {
    const out = pasteFaces(background(3, 16, 1000), [flatFace([200, 100, 50])], 1);
    expect(out.bitDepth).toBe(16);
    expect(at(out, 256, 256)).toEqual([200 * 257, 100 * 257, 50 * 257]);
    expect(at(out, 20, 20)).toEqual([1000, 1000, 1000]);
  });

  it('pastes with facexlib\'s matrix: inverse x upscale, + 0.5 x upscale when upscaling', () => {
    const plain = (m: readonly number[]) => m.map((v) => v + 0); // -0 and 0 alike
    expect(plain(pasteBackMatrix([2, 0, 10, 0, 2, 20], 1))).toEqual([0.5, 0, -5, 0, 0.5, -10]);
    expect(plain(pasteBackMatrix([2, 0, 10, 0, 2, 20], 4))).toEqual([2, 0, -20 + 2, 0, 2, -40 + 2]);
  });
});
