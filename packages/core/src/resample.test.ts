import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from './errors.js';
import { createImage } from './image.js';
import { createLanczosStream, lanczos, lanczosTaps, resampleLanczos } from './resample.js';
import { randomImage } from './test-support/images.js';

describe('lanczos kernel and taps', () => {
  it('is 1 at 0, 0 at other integers and beyond a', () => {
    expect(lanczos(0)).toBe(1);
    for (const x of [1, 2, -1, -2]) expect(Math.abs(lanczos(x))).toBeLessThan(1e-15);
    expect(lanczos(3)).toBe(0);
    expect(lanczos(-4.5)).toBe(0);
  });

  it('normalises weights and widens the support when shrinking', () => {
    const up = lanczosTaps(10, 25);
    const down = lanczosTaps(30, 10);
    expect(up.stride).toBe(7);
    expect(down.stride).toBe(19);
    for (const taps of [up, down]) {
      for (let i = 0; i < taps.start.length; i++) {
        let sum = 0;
        for (let k = 0; k < taps.count[i]!; k++) sum += taps.weights[i * taps.stride + k]!;
        expect(sum).toBeCloseTo(1, 12);
      }
    }
    expect(Math.max(...down.count)).toBeGreaterThan(12);
  });
});

describe('resampleLanczos', () => {
  it('matches hand-computed values: [0, 255] x2 and a /3 reduction', () => {
    // x2: taps at distance 0.25/1.25 and 0.75/0.25; 255 * 0.2328707 = 59.38; overshoot clamped
    const up = resampleLanczos({ width: 2, height: 1, channels: 1, bitDepth: 8, data: new Uint8Array([0, 255]) }, 4, 1);
    expect(Array.from(up.data)).toEqual([0, 59, 196, 255]);
    // /3 with the kernel widened to 9 taps each side: 93.39, 116.58
    const src = new Uint8Array([10, 200, 30, 90, 250, 0]);
    const down = resampleLanczos({ width: 6, height: 1, channels: 1, bitDepth: 8, data: src }, 2, 1);
    expect(Array.from(down.data)).toEqual([93, 117]);
  });

  it('keeps a constant image constant, up and down, 8 and 16 bit, all channel counts', () => {
    for (const [bitDepth, value] of [[8, 173], [16, 51234]] as const) {
      for (const channels of [1, 2, 3, 4] as const) {
        const image = createImage(9, 7, channels, bitDepth);
        image.data.fill(value);
        for (const [w, h] of [[27, 21], [4, 3], [13, 2], [1, 1]] as const) {
          const out = resampleLanczos(image, w, h);
          expect([out.width, out.height, out.channels, out.bitDepth]).toEqual([w, h, channels, bitDepth]);
          expect(out.data.every((v) => v === value)).toBe(true);
        }
      }
    }
  });

  it('stays within range on noise (ringing clamped) and keeps the bit depth', () => {
    const image = randomImage(17, 11, 4, 16, 7);
    const out = resampleLanczos(image, 40, 29);
    expect(out.data).toBeInstanceOf(Uint16Array);
    expect(out.data.some((v) => v === 0) && out.data.some((v) => v === 65535)).toBe(true);
    const small = resampleLanczos(randomImage(40, 40, 3, 8, 3), 7, 9);
    expect(small.data).toBeInstanceOf(Uint8Array);
  });

  it('an edge between columns stays sharp-ish and monotone away from the overshoot', () => {
    const image = createImage(8, 1, 1, 8);
    image.data.set([0, 0, 0, 0, 200, 200, 200, 200]);
    const out = resampleLanczos(image, 16, 1);
    expect(out.data[0]).toBe(0);
    expect(out.data[15]).toBe(200);
    expect(out.data[7]!).toBeLessThan(out.data[8]!);
  });

  it('rejects bad sizes', () => {
    expect(() => resampleLanczos(createImage(2, 2, 3, 8), 0, 2)).toThrow(InvalidOptionError);
    expect(() => resampleLanczos(createImage(2, 2, 3, 8), 2, 2.5)).toThrow(/height/);
  });
});

describe('createLanczosStream', () => {
  it('gives the same pixels whatever rows it is fed at a time', async () => {
    for (const [w, h, ow, oh] of [[37, 29, 111, 87], [40, 33, 13, 9], [8, 64, 8, 7]] as const) {
      const image = randomImage(w, h, 4, 16, w + h);
      const whole = resampleLanczos(image, ow, oh);
      for (const chunk of [1, 3, 7, h]) {
        const out = createImage(ow, oh, 4, 16);
        const stream = createLanczosStream(image, out);
        for (let y = 0; y < h; y += chunk) {
          // Each chunk from its own buffer, as bands of tiles arrive.
          const rows = Math.min(chunk, h - y);
          const band = createImage(w, rows, 4, 16);
          band.data.set(image.data.subarray(y * w * 4, (y + rows) * w * 4));
          stream.push(band, y, rows, y);
        }
        expect(stream.rowsDone).toBe(oh);
        expect(out.data).toEqual(whole.data);
      }
    }
  });

  it('refuses rows out of order', async () => {
    const image = randomImage(4, 4, 3);
    const stream = createLanczosStream(image, createImage(8, 8, 3, 8));
    expect(() => stream.push(image, 1, 1)).toThrow(InvalidOptionError);
  });
});
