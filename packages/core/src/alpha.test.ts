import { describe, expect, it } from 'vitest';
import { fillOpaqueAlpha, hasOpaqueAlpha, resizeAlphaInto } from './alpha.js';
import { createImage } from './image.js';

describe('resizeAlphaInto (cv2.INTER_LINEAR)', () => {
  it('upscales x2 with half-pixel centres and clamped edges', () => {
    const src = { width: 2, height: 1, channels: 2, bitDepth: 8, data: new Uint8Array([0, 0, 0, 255]) } as const;
    const dst = createImage(4, 2, 2, 8);
    resizeAlphaInto(src, dst);
    // source x = (d + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> 0, 63.75, 191.25, 255
    expect(Array.from(dst.data.filter((_, i) => i % 2 === 1))).toEqual([0, 64, 191, 255, 0, 64, 191, 255]);
    expect(Array.from(dst.data.filter((_, i) => i % 2 === 0))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('is the identity at scale 1 and keeps 16-bit range', () => {
    const data = new Uint16Array([1, 2, 3, 0, 9, 9, 9, 65535, 5, 5, 5, 12345, 0, 0, 0, 1]);
    const src = { width: 2, height: 2, channels: 4, bitDepth: 16, data } as const;
    const dst = createImage(2, 2, 4, 16);
    resizeAlphaInto(src, dst);
    expect(Array.from(dst.data.filter((_, i) => i % 4 === 3))).toEqual([0, 65535, 12345, 1]);
  });

  it('interpolates in both directions', () => {
    // 2x2 alpha [[0, 100], [200, 40]] -> x2; centre-ish sample (1,1): x 0.25, y 0.25
    const src = { width: 2, height: 2, channels: 2, bitDepth: 8, data: new Uint8Array([0, 0, 0, 100, 0, 200, 0, 40]) } as const;
    const dst = createImage(4, 4, 2, 8);
    resizeAlphaInto(src, dst);
    const at = (x: number, y: number): number => dst.data[(y * 4 + x) * 2 + 1]!;
    const want = 0.75 * (0.75 * 0 + 0.25 * 100) + 0.25 * (0.75 * 200 + 0.25 * 40); // 71.25
    expect(at(1, 1)).toBe(Math.round(want));
    expect(at(0, 0)).toBe(0);
    expect(at(3, 3)).toBe(40);
  });
});

describe('hasOpaqueAlpha, fillOpaqueAlpha', () => {
  it('is true only for an image with alpha whose every alpha sample is the maximum', () => {
    const rgba = { width: 2, height: 2, channels: 4, bitDepth: 8, data: new Uint8Array([0, 0, 0, 255, 1, 2, 3, 255, 9, 9, 9, 255, 0, 0, 0, 255]) } as const;
    expect(hasOpaqueAlpha(rgba)).toBe(true);
    rgba.data[15] = 254;
    expect(hasOpaqueAlpha(rgba)).toBe(false);
    expect(hasOpaqueAlpha(rgba, { from: 0, to: 1 })).toBe(true); // the first row only
    expect(hasOpaqueAlpha(rgba, { from: 1 })).toBe(false);
    const gray16 = { width: 2, height: 1, channels: 2, bitDepth: 16, data: new Uint16Array([0, 65535, 7, 65535]) } as const;
    expect(hasOpaqueAlpha(gray16)).toBe(true);
    expect(hasOpaqueAlpha({ ...gray16, data: new Uint16Array([0, 65535, 7, 255]) })).toBe(false);
    // No alpha channel: nothing to call opaque.
    expect(hasOpaqueAlpha({ width: 1, height: 1, channels: 3, bitDepth: 8, data: new Uint8Array([255, 255, 255]) })).toBe(false);
  });

  it('fills the alpha of the rows asked, and nothing else', () => {
    const image = createImage(2, 3, 2, 16);
    fillOpaqueAlpha(image, 1, 2);
    expect(Array.from(image.data)).toEqual([0, 0, 0, 0, 0, 65535, 0, 65535, 0, 0, 0, 0]);
    fillOpaqueAlpha(image);
    expect(hasOpaqueAlpha(image)).toBe(true);
    expect(() => fillOpaqueAlpha(createImage(1, 1, 3, 8))).toThrow(/alpha/);
  });
});
