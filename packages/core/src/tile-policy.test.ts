import { describe, expect, it } from 'vitest';
import { autoTilePad, autoTileSize, DEFAULT_TILE_PAD, MAX_AUTO_TILE_PAD, MIN_AUTO_TILE, tileMemory, type TileBudgetInput } from './tile-policy.js';

const MiB = 1024 * 1024;
// realesr-animevideov3 on a 2000x1500 photo, x4, 8-bit RGB.
const base: TileBudgetInput = {
  width: 2000,
  height: 1500,
  tilePad: 18,
  scale: 4,
  alignment: 1,
  channels: 3,
  bytesPerSample: 1,
  workingBytesPerPixel: 1228,
  banded: false,
  maxMemory: 256 * MiB,
};

describe('autoTilePad', () => {
  it('is the receptive radius up to the cap, and the reference default when the radius is unknown', () => {
    expect(autoTilePad(18)).toBe(18);
    expect(autoTilePad(349)).toBe(MAX_AUTO_TILE_PAD);
    expect(autoTilePad(0)).toBe(DEFAULT_TILE_PAD);
  });
});

describe('autoTileSize', () => {
  it('takes the whole image when it fits the budget', () => {
    expect(autoTileSize({ ...base, width: 200, height: 150 })).toBe(0);
    expect(tileMemory({ ...base, width: 200, height: 150 }, 0)).toBeLessThanOrEqual(base.maxMemory);
  });

  it('takes the largest tile that fits: one step more would not', () => {
    for (const maxMemory of [128 * MiB, 256 * MiB, 1024 * MiB]) {
      for (const parallelism of [1, 2, 4]) {
        for (const banded of [false, true]) {
          const input = { ...base, maxMemory, parallelism, banded };
          const tile = autoTileSize(input);
          expect(tile, `${maxMemory} ${parallelism} ${banded}`).toBeGreaterThanOrEqual(MIN_AUTO_TILE);
          expect(tileMemory(input, tile)).toBeLessThanOrEqual(maxMemory);
          expect(tileMemory(input, tile + 1)).toBeGreaterThan(maxMemory);
        }
      }
    }
  });

  it('shrinks tiles for a heavier model, more parallel runs and a band to hold', () => {
    const light = autoTileSize(base);
    expect(autoTileSize({ ...base, workingBytesPerPixel: 16588 })).toBeLessThan(light);
    expect(autoTileSize({ ...base, parallelism: 2 })).toBeLessThan(light);
    expect(autoTileSize({ ...base, banded: true })).toBeLessThan(light);
  });

  it('keeps tiles aligned and never goes below the smallest tile, even when nothing fits', () => {
    expect(autoTileSize({ ...base, alignment: 4 }) % 4).toBe(0);
    expect(autoTileSize({ ...base, maxMemory: 1 })).toBe(MIN_AUTO_TILE);
  });
});
