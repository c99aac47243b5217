import { describe, expect, it } from 'vitest';
import { erodeRect } from './face-mask-plain.js';
import { gaussianKernel } from './face-mask.js';

/** cv2.erode's definition, written out: min over the k x k window anchored at k/2, outside ignored. */
function bruteErode(src: Float64Array, width: number, height: number, k: number): Float64Array {
  const size = k > 0 ? k : 3;
  const anchor = Math.floor(size / 2);
  const out = new Float64Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let m = Number.POSITIVE_INFINITY;
      for (let dy = 0; dy < size; dy++) {
        for (let dx = 0; dx < size; dx++) {
          const yy = y + dy - anchor;
          const xx = x + dx - anchor;
          if (yy >= 0 && yy < height && xx >= 0 && xx < width) m = Math.min(m, src[yy * width + xx]!);
        }
      }
      out[y * width + x] = m;
    }
  }
  return out;
}

describe('erodeRect', () => {
  it.each([0, 1, 2, 3, 4, 5, 8])('equals the windowed minimum for a %i x %i kernel (0: OpenCV 3x3)', (k) => {
    const width = 23;
    const height = 17;
    const src = new Float64Array(width * height);
    for (let i = 0; i < src.length; i++) src[i] = Math.abs(Math.sin(i * 12.9898) * 43758.5453) % 1;
    expect(erodeRect(src, width, height, k)).toEqual(bruteErode(src, width, height, k));
  });
});

describe('gaussianKernel with sigma 0', () => {
  it("uses OpenCV's fixed small kernels and its size-derived sigma above 7", () => {
    expect([...gaussianKernel(3, 0)]).toEqual([0.25, 0.5, 0.25]);
    expect([...gaussianKernel(1, 0)]).toEqual([1]);
    const nine = gaussianKernel(9, 0);
    const sigma = 0.3 * ((9 - 1) * 0.5 - 1) + 0.8;
    expect(nine[4]! / nine[3]!).toBeCloseTo(Math.exp(0.5 / (sigma * sigma)), 12);
    expect(nine.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});
