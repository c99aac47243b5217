import { describe, expect, it } from 'vitest';
import { quantize, rgbToGray, roundHalfEven } from './quantize.js';

describe('roundHalfEven', () => {
  it.each([
    [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [254.5, 254], [-0.5, -0], [-1.5, -2], [-2.5, -2],
    [2.4999, 2], [2.5001, 3], [7, 7], [0, 0],
  ])('%d -> %d', (x, want) => {
    expect(roundHalfEven(x)).toBe(want);
  });
});

describe('quantize', () => {
  it('clamps to [0, 1] before scaling', () => {
    expect(quantize(-0.2, 255)).toBe(0);
    expect(quantize(1.7, 255)).toBe(255);
    expect(quantize(1.7, 65535)).toBe(65535);
    expect(quantize(Number.NaN, 255)).toBe(0);
  });
  it('rounds half to even like np.round', () => {
    expect(quantize(0.5 / 255, 255)).toBe(0); // 0.5 -> 0
    expect(quantize(1.5 / 255, 255)).toBe(2);
    expect(quantize(2.5 / 255, 255)).toBe(2);
    expect(quantize(0.5, 255)).toBe(128); // 127.5 -> 128
    expect(quantize(0.5, 65535)).toBe(32768); // 32767.5 -> 32768
    expect(quantize(Math.fround(0.5 / 65535), 65535)).toBe(0);
  });
  it('round-trips every 8- and 16-bit level through float32 v / max', () => {
    for (const max of [255, 65535]) {
      for (let v = 0; v <= max; v++) {
        if (quantize(Math.fround(v / max), max) !== v) throw new Error(`${v}/${max} did not round-trip`);
      }
    }
  });
});

describe('rgbToGray', () => {
  it('uses BT.601 weights', () => {
    expect(rgbToGray(1, 0, 0)).toBeCloseTo(0.299, 6);
    expect(rgbToGray(0, 1, 0)).toBeCloseTo(0.587, 6);
    expect(rgbToGray(0, 0, 1)).toBeCloseTo(0.114, 6);
    expect(quantize(rgbToGray(0.4, 0.4, 0.4), 255)).toBe(102);
  });
});
