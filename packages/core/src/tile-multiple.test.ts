import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from './errors.js';
import { randomImage } from './test-support/images.js';
import { createIdentityModel } from './test-support/toy-model.js';
import { upscale } from './upscale.js';

describe('tileMultiple (a window-attention model keeps its window grid)', () => {
  it('rounds explicit tiles and pads up to the multiple (automatic ones: models/test/swinir.test.ts)', async () => {
    const image = randomImage(100, 90, 3);
    const windowed = { ...createIdentityModel(2), tileMultiple: 8 };
    const calls: Array<readonly [number, number]> = [];
    const model = { ...windowed, run: (input: Parameters<typeof windowed.run>[0], options?: Parameters<typeof windowed.run>[1]) => {
      calls.push([input.dims[2]!, input.dims[3]!]);
      return windowed.run(input, options);
    } };
    // Tile 30 -> 32, pad 5 -> 8: an interior tile's input is 8 + 32 + 8 = 48 pixels across.
    const out = await upscale(image, model, { tile: 30, tilePad: 5 });
    expect([out.width, out.height]).toEqual([200, 180]);
    // Tiles of 32 at 0, 32, 64 (, 96) with 8 of context: inputs start at 0, 24, 56 (, 88), all on
    // the grid; without rounding (tile 30, pad 5) they would start at 25, 55, 85.
    expect(new Set(calls.map(([, w]) => w))).toEqual(new Set([40, 48, 44, 12]));
    expect(new Set(calls.map(([h]) => h))).toEqual(new Set([40, 48, 34]));
    expect(out.data).toEqual((await upscale(image, createIdentityModel(2), { tile: 0 })).data);
  });

  it('refuses a tileMultiple that is not an integer >= 1', async () => {
    await expect(upscale(randomImage(8, 8, 3), { ...createIdentityModel(1), tileMultiple: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(upscale(randomImage(8, 8, 3), { ...createIdentityModel(1), tileMultiple: 2.5 })).rejects.toThrow(/tileMultiple/);
  });
});
