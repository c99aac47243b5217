import { describe, expect, it } from 'vitest';
import { numpyReflectPad } from './test-support/reference.js';
import { alignUp, paddedSize, reflectIndex, reflectPadMap } from './padding.js';

describe('reflectIndex (numpy "reflect")', () => {
  it('matches numpy tables, folding repeatedly', () => {
    // np.pad([0, 1, 2], (0, 9), 'reflect') -> 0 1 2 1 0 1 2 1 0 1 2 1
    expect(Array.from({ length: 12 }, (_, i) => reflectIndex(i, 3))).toEqual([0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1]);
    // np.pad([0, 1], (0, 5), 'reflect') -> 0 1 0 1 0 1 0
    expect(Array.from({ length: 7 }, (_, i) => reflectIndex(i, 2))).toEqual([0, 1, 0, 1, 0, 1, 0]);
    // a single sample reflects to itself
    expect(Array.from({ length: 5 }, (_, i) => reflectIndex(i, 1))).toEqual([0, 0, 0, 0, 0]);
    // negative indices (left padding): np.pad([0..4], (3, 0), 'reflect') -> 3 2 1 0 1 2 3 4
    expect([-3, -2, -1].map((i) => reflectIndex(i, 5))).toEqual([3, 2, 1]);
  });

  it('agrees with numpy-style iterative reflection for many sizes and pads', () => {
    for (let size = 1; size <= 7; size++) {
      const base = Array.from({ length: size }, (_, i) => i);
      for (let pad = 0; pad <= 30; pad++) {
        const want = numpyReflectPad(base, pad);
        expect(want.map((_, i) => reflectIndex(i, size))).toEqual(want);
      }
    }
  });
});

describe('reflectPadMap', () => {
  it('pads to a multiple of the alignment after the pre-pad', () => {
    expect(paddedSize(5, 0, 4)).toBe(8);
    expect(paddedSize(5, 3, 4)).toBe(8);
    expect(paddedSize(6, 3, 2)).toBe(10);
    expect(alignUp(9, 4)).toBe(12);
    expect(reflectPadMap(5, 0, 1)).toEqual(new Int32Array([0, 1, 2, 3, 4]));
  });

  it('applies the two pads one after the other, like two F.pad calls', () => {
    // pre-pad 2 of [0 1 2] -> 0 1 2 1 0; align 4 -> reflect that -> 0 1 2 1 0 1 2 1
    expect(Array.from(reflectPadMap(3, 2, 4))).toEqual([0, 1, 2, 1, 0, 1, 2, 1]);
    // pre-pad 1 of [0 1 2 3] -> 0 1 2 3 2; align 4 -> 0 1 2 3 2 3 2 1 (one pad of 4 would give 2 1 0 1)
    expect(Array.from(reflectPadMap(4, 1, 4))).toEqual([0, 1, 2, 3, 2, 3, 2, 1]);
    expect(numpyReflectPad(numpyReflectPad([0, 1, 2, 3], 1), 3)).toEqual([0, 1, 2, 3, 2, 3, 2, 1]);
  });

  it('handles pads larger than the image, including 1-pixel images', () => {
    expect(Array.from(reflectPadMap(1, 7, 4))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(reflectPadMap(2, 5, 1))).toEqual([0, 1, 0, 1, 0, 1, 0]);
    expect(Array.from(reflectPadMap(2, 5, 4))).toEqual(numpyReflectPad(numpyReflectPad([0, 1], 5), 1));
  });

  it('pad then crop restores the original axis', () => {
    for (let size = 1; size <= 9; size++) {
      for (const [pre, align] of [[0, 2], [0, 4], [3, 4], [10, 2], [1, 1]] as const) {
        const map = reflectPadMap(size, pre, align);
        expect(map.length % align).toBe(0);
        expect(map.length).toBeGreaterThanOrEqual(size + pre);
        expect(Array.from(map.subarray(0, size))).toEqual(Array.from({ length: size }, (_, i) => i));
      }
    }
  });

  it('rejects bad arguments', () => {
    expect(() => reflectPadMap(0, 0, 1)).toThrow(/size/);
    expect(() => reflectPadMap(3, -1, 1)).toThrow(/prePad/);
    expect(() => reflectPadMap(3, 0, 0)).toThrow(/alignment/);
  });
});
