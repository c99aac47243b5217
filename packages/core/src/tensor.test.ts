import { describe, expect, it } from 'vitest';
import { BadImageError } from './errors.js';
import { createImage } from './image.js';
import { alphaChannels, colorChannels, extractTile, imageToTensor, tensorToImage } from './tensor.js';
import { reflectPadMap } from './padding.js';

describe('imageToTensor / tensorToImage', () => {
  it('converts interleaved RGB to planar NCHW in [0, 1]', () => {
    const image = { width: 2, height: 1, channels: 3, bitDepth: 8, data: new Uint8Array([255, 0, 51, 0, 102, 255]) } as const;
    const t = imageToTensor(image);
    expect(t.dims).toEqual([1, 3, 1, 2]);
    expect(Array.from(t.data)).toEqual([1, 0, 0, 0.4, 0.2, 1].map(Math.fround));
    expect(tensorToImage(t).data).toEqual(image.data);
  });

  it('replicates gray, drops alpha, reads 16-bit, takes a rectangle', () => {
    const gray = { width: 3, height: 2, channels: 2, bitDepth: 16, data: new Uint16Array([0, 9, 65535, 9, 1, 9, 2, 9, 3, 9, 4, 9]) } as const;
    const t = imageToTensor(gray, { x: 1, y: 0, width: 2, height: 2 });
    expect(t.dims).toEqual([1, 3, 2, 2]);
    const plane = [65535, 1, 3, 4].map((v) => Math.fround(v / 65535));
    expect(Array.from(t.data)).toEqual([...plane, ...plane, ...plane]);
    const back = tensorToImage(t, 16);
    expect(back.channels).toBe(3);
    expect(Array.from(back.data)).toEqual([65535, 65535, 65535, 1, 1, 1, 3, 3, 3, 4, 4, 4]);
  });

  it('tensorToImage keeps C channels, clamps and rounds half to even', () => {
    const t = { data: new Float32Array([-1, 2, 0.5, 1.5 / 255]), dims: [1, 1, 2, 2] };
    const img = tensorToImage(t);
    expect(img.channels).toBe(1);
    expect(Array.from(img.data)).toEqual([0, 255, 128, 2]);
    const rgba = tensorToImage({ data: new Float32Array(4 * 6), dims: [1, 4, 2, 3] });
    expect(rgba.channels).toBe(4);
  });

  it('rejects bad tensors and rectangles', () => {
    expect(() => tensorToImage({ data: new Float32Array(5), dims: [1, 5, 1, 1] })).toThrow(BadImageError);
    expect(() => tensorToImage({ data: new Float32Array(3), dims: [1, 3, 2, 2] })).toThrow(BadImageError);
    const image = createImage(4, 4, 3, 8);
    expect(() => imageToTensor(image, { x: 2, y: 0, width: 3, height: 1 })).toThrow(BadImageError);
  });
});

describe('extractTile', () => {
  it('reads through the reflect maps (no padded copy) with channel selection', () => {
    // 3x1 RGBA: alpha 10, 20, 30. Pre-pad 2 -> columns 0 1 2 1 0.
    const image = { width: 3, height: 1, channels: 4, bitDepth: 8, data: new Uint8Array([1, 2, 3, 10, 4, 5, 6, 20, 7, 8, 9, 30]) } as const;
    const mapX = reflectPadMap(3, 2, 1);
    const mapY = reflectPadMap(1, 2, 1);
    const t = extractTile(image, { x: 2, y: 1, width: 3, height: 2 }, mapX, mapY, alphaChannels(4));
    expect(t.dims).toEqual([1, 3, 2, 3]);
    const plane = [30, 20, 10, 30, 20, 10].map((v) => Math.fround(v / 255));
    expect(Array.from(t.data)).toEqual([...plane, ...plane, ...plane]);
    const c = extractTile(image, { x: 3, y: 0, width: 1, height: 1 }, mapX, mapY, colorChannels(4));
    expect(Array.from(c.data)).toEqual([4, 5, 6].map((v) => Math.fround(v / 255)));
  });
});
