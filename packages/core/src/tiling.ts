import { InvalidOptionError } from './errors.js';

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** One tile of the reference's `tile_process`, in padded-input and native-output pixels. */
export interface TilePlan {
  /** Row-major position, 0-based. */
  readonly index: number;
  readonly column: number;
  readonly row: number;
  /** The input area this tile is responsible for (no tile pad). */
  readonly core: Rect;
  /** `core` grown by the tile pad and clipped to the image: what the model runs on. */
  readonly input: Rect;
  /** Where the tile's result lands in the output: `core` times the scale. */
  readonly output: Rect;
  /** Offset of `output` inside the model's output for `input` (size = output's size). */
  readonly crop: { readonly x: number; readonly y: number };
}

export interface TileGeometry {
  width: number;
  height: number;
  /** Tile edge in input pixels; 0 = the whole image as one tile. */
  tile: number;
  tilePad: number;
  scale: number;
}

/**
 * The reference's tile grid (RealESRGANer.tile_process) as pure geometry: tiles of `tile` pixels
 * from the top-left, the last ones cut by the image edge, each grown by `tilePad` on every side
 * where the image allows.
 */
export function planTiles({ width, height, tile, tilePad, scale }: TileGeometry): TilePlan[] {
  checkInteger('width', width, 1);
  checkInteger('height', height, 1);
  checkInteger('tile', tile, 0);
  checkInteger('tilePad', tilePad, 0);
  checkInteger('scale', scale, 1);
  const tileW = tile === 0 ? width : tile;
  const tileH = tile === 0 ? height : tile;
  const columns = Math.ceil(width / tileW);
  const rows = Math.ceil(height / tileH);
  const plans: TilePlan[] = [];
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const x0 = column * tileW;
      const y0 = row * tileH;
      const x1 = Math.min(x0 + tileW, width);
      const y1 = Math.min(y0 + tileH, height);
      const px0 = Math.max(x0 - tilePad, 0);
      const py0 = Math.max(y0 - tilePad, 0);
      const px1 = Math.min(x1 + tilePad, width);
      const py1 = Math.min(y1 + tilePad, height);
      plans.push({
        index: plans.length,
        column,
        row,
        core: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
        input: { x: px0, y: py0, width: px1 - px0, height: py1 - py0 },
        output: { x: x0 * scale, y: y0 * scale, width: (x1 - x0) * scale, height: (y1 - y0) * scale },
        crop: { x: (x0 - px0) * scale, y: (y0 - py0) * scale },
      });
    }
  }
  return plans;
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidOptionError(`${name} must be an integer >= ${min}, got ${String(value)}`, {
      details: { option: name },
    });
  }
}
