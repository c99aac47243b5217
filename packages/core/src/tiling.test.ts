import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from './errors.js';
import { planTiles, type TilePlan } from './tiling.js';

/** [core x, y, w, h], [input x, y, w, h], [output x, y, w, h], [crop x, y] */
type Row = [number[], number[], number[], number[]];
const rows = (plans: TilePlan[]): Row[] =>
  plans.map((p) => [
    [p.core.x, p.core.y, p.core.width, p.core.height],
    [p.input.x, p.input.y, p.input.width, p.input.height],
    [p.output.x, p.output.y, p.output.width, p.output.height],
    [p.crop.x, p.crop.y],
  ]);

describe('planTiles', () => {
  it('37x23, tile 16, pad 5, scale 2', () => {
    const plans = planTiles({ width: 37, height: 23, tile: 16, tilePad: 5, scale: 2 });
    expect(rows(plans)).toEqual([
      [[0, 0, 16, 16], [0, 0, 21, 21], [0, 0, 32, 32], [0, 0]],
      [[16, 0, 16, 16], [11, 0, 26, 21], [32, 0, 32, 32], [10, 0]],
      [[32, 0, 5, 16], [27, 0, 10, 21], [64, 0, 10, 32], [10, 0]],
      [[0, 16, 16, 7], [0, 11, 21, 12], [0, 32, 32, 14], [0, 10]],
      [[16, 16, 16, 7], [11, 11, 26, 12], [32, 32, 32, 14], [10, 10]],
      [[32, 16, 5, 7], [27, 11, 10, 12], [64, 32, 10, 14], [10, 10]],
    ]);
    expect(plans.map((p) => [p.index, p.column, p.row])).toEqual([
      [0, 0, 0], [1, 1, 0], [2, 2, 0], [3, 0, 1], [4, 1, 1], [5, 2, 1],
    ]);
  });

  it('37x23, tile 16, pad 5, scale 4: output and crop scale, input does not', () => {
    const plans = planTiles({ width: 37, height: 23, tile: 16, tilePad: 5, scale: 4 });
    expect(rows(plans)[4]).toEqual([[16, 16, 16, 7], [11, 11, 26, 12], [64, 64, 64, 28], [20, 20]]);
  });

  it('a tile larger than the image is one tile, pad clipped away', () => {
    expect(rows(planTiles({ width: 10, height: 7, tile: 64, tilePad: 10, scale: 4 }))).toEqual([
      [[0, 0, 10, 7], [0, 0, 10, 7], [0, 0, 40, 28], [0, 0]],
    ]);
  });

  it('tile 0 is the whole image', () => {
    expect(rows(planTiles({ width: 300, height: 5, tile: 0, tilePad: 10, scale: 2 }))).toEqual([
      [[0, 0, 300, 5], [0, 0, 300, 5], [0, 0, 600, 10], [0, 0]],
    ]);
  });

  it('a 1x1 image', () => {
    expect(rows(planTiles({ width: 1, height: 1, tile: 16, tilePad: 3, scale: 4 }))).toEqual([
      [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 4, 4], [0, 0]],
    ]);
  });

  it('tile 1 with pad 1 on a 3x1 row', () => {
    expect(rows(planTiles({ width: 3, height: 1, tile: 1, tilePad: 1, scale: 1 }))).toEqual([
      [[0, 0, 1, 1], [0, 0, 2, 1], [0, 0, 1, 1], [0, 0]],
      [[1, 0, 1, 1], [0, 0, 3, 1], [1, 0, 1, 1], [1, 0]],
      [[2, 0, 1, 1], [1, 0, 2, 1], [2, 0, 1, 1], [1, 0]],
    ]);
  });

  it('covers the output exactly once', () => {
    const width = 53;
    const height = 41;
    const scale = 2;
    const hits = new Uint8Array(width * scale * height * scale);
    for (const p of planTiles({ width, height, tile: 12, tilePad: 4, scale })) {
      for (let y = p.output.y; y < p.output.y + p.output.height; y++) {
        for (let x = p.output.x; x < p.output.x + p.output.width; x++) hits[y * width * scale + x]!++;
      }
    }
    expect(hits.every((h) => h === 1)).toBe(true);
  });

  it('rejects bad geometry', () => {
    expect(() => planTiles({ width: 0, height: 1, tile: 0, tilePad: 0, scale: 1 })).toThrow(InvalidOptionError);
    expect(() => planTiles({ width: 1, height: 1, tile: -1, tilePad: 0, scale: 1 })).toThrow(/tile/);
    expect(() => planTiles({ width: 1, height: 1, tile: 1, tilePad: 0.5, scale: 1 })).toThrow(/tilePad/);
  });
});
